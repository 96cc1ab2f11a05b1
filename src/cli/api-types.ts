/**
 * The API's answers as the CLI reads them: inferred from the API's own response
 * schemas (types only, nothing is loaded at run time), so a change of the
 * contract breaks the build here instead of a command in the field.
 */
import type { z } from 'zod';
import type {
  ApiTokenDto,
  CredentialDto,
  DeviceDto,
  DevicePageDto,
  IssuedCredentialDto,
  TenantDto,
  UserDto,
} from '../api/dto.js';

export type DeviceView = z.infer<typeof DeviceDto>;
export type DevicePage = z.infer<typeof DevicePageDto>;
export type CredentialView = z.infer<typeof CredentialDto>;
export type IssuedCredentialView = z.infer<typeof IssuedCredentialDto>;
export type TenantView = z.infer<typeof TenantDto>;
export type UserView = z.infer<typeof UserDto>;
export type ApiTokenView = z.infer<typeof ApiTokenDto>;

export interface LoginAnswer {
  token: string;
  expiresAt: number;
  user: UserView;
}
