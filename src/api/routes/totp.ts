import QRCode from 'qrcode';
import type { ApiApp, RouteDeps } from '../api-app.js';
import { actorOf } from '../authenticate.js';
import { NoContent, TotpEnrolmentDto } from '../dto.js';
import { errorResponses } from '../http-errors.js';
import { TotpCodeInput } from '../inputs.js';

const tags = ['auth'];

/** The signed-in person's own TOTP second factor: enrol with a QR code, confirm, turn off. */
export function registerTotpRoutes(app: ApiApp, { registry }: RouteDeps): void {
  app.post(
    '/me/totp',
    {
      schema: {
        summary: 'Start enrolling a TOTP second factor',
        description:
          'A new secret, as base32, as an otpauth:// URL and as a QR code (SVG) for an authenticator app. ' +
          'It is pending, not asked for at sign-in, until POST /api/me/totp/confirm; enrolling again replaces ' +
          'a pending secret. 409 while a second factor is on. The secret is shown in this answer only.',
        tags,
        response: { 200: TotpEnrolmentDto, ...errorResponses(409) },
      },
    },
    async (request) => {
      const enrolment = await registry.enrolTotp(actorOf(request));
      const qrSvg = await QRCode.toString(enrolment.otpauthUrl, { type: 'svg', errorCorrectionLevel: 'M' });
      return { ...enrolment, qrSvg };
    },
  );

  app.post(
    '/me/totp/confirm',
    {
      schema: {
        summary: 'Turn the second factor on with a first code',
        description: 'A wrong code is a 400 INVALID_INPUT naming `code`; 409 when no enrolment is pending.',
        tags,
        body: TotpCodeInput,
        response: { 204: NoContent, ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      await registry.confirmTotp(actorOf(request), request.body.code);
      return reply.code(204).send();
    },
  );

  app.delete(
    '/me/totp',
    {
      schema: {
        summary: 'Turn the second factor off',
        description:
          'Needs a current code: a wrong or used one is a 400 BAD_CREDENTIALS naming `code` and counts toward ' +
          'the sign-in lock (429 once locked). 409 when no second factor is on.',
        tags,
        body: TotpCodeInput,
        response: { 204: NoContent, ...errorResponses(409, 429) },
      },
    },
    async (request, reply) => {
      await registry.disableTotp(actorOf(request), request.body.code);
      return reply.code(204).send();
    },
  );
}
