import type { RegistryService } from '../registry/service.js';
import type { LineGate } from '../transport/line/gate.js';
import { DeviceIdentity } from './identities.js';
import type { RegistryAuthenticator } from './registry-authenticator.js';

/**
 * The line protocol's way into the registry: its AUTH frames go through the
 * same authenticator as an MQTT CONNECT (connect rate, lockout, caps, ACL,
 * quota), so a conversation is exactly as free as an MQTT client of that device.
 */
export function registryLineGate(authenticator: RegistryAuthenticator, registry: RegistryService): LineGate {
  return {
    async login(proof, peer) {
      const attempt = {
        clientId: peer.clientId,
        // What an ACL's %u stands for: the device id (never the token).
        username: proof.deviceId,
        listener: peer.listener,
        remoteAddress: peer.remoteAddress,
        allowAnonymous: false,
      };
      const result = await authenticator.authenticateDevice(
        proof.kind === 'hmac'
          ? { kind: 'hmac', deviceId: proof.deviceId, nonce: proof.nonce, proof: proof.mac }
          : { kind: 'token', token: proof.token },
        attempt,
      );
      if (!result.ok) return result;
      const identity = result.identity;
      if (!(identity instanceof DeviceIdentity) || identity.deviceId !== proof.deviceId) {
        // A valid token of another device: the frame names one device and proves another.
        await registry.audit({
          tenantId: identity instanceof DeviceIdentity ? identity.tenantId : null,
          actorType: 'device',
          actor: proof.deviceId,
          action: 'login.failure',
          target: `device:${proof.deviceId}`,
          address: peer.remoteAddress,
          outcome: 'failure',
          details: { via: peer.listener, kind: 'token', reason: 'token of another device' },
        });
        return { ok: false, reason: 'bad-credentials' };
      }
      return { ok: true, identity, deviceId: identity.deviceId, tenantId: identity.tenantId };
    },
    async isTenantDevice(tenantId, deviceId) {
      const device = await registry.deviceById(deviceId);
      return device?.tenantId === tenantId;
    },
  };
}
