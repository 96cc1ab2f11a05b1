import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { connect as netConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { Broker } from '../broker/broker.js';
import { isHalyardError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { startListeners, type ListenerSink, type ListenersConfig } from './index.js';
import { createCertificateAuthority, issueCertificate } from './pki.js';
import { captureLogger, disabledListeners, EchoSink, withTempDir } from './test-support.js';
import { loadLocalCa } from './tls-material.js';

// Compile-time guard: the real Broker must stay pluggable into the listeners.
const _brokerIsASink: Broker extends ListenerSink ? true : never = true;

function enable(
  names: (keyof ListenersConfig)[],
  patch: (c: ListenersConfig) => void = () => {},
): ListenersConfig {
  const config = disabledListeners();
  for (const name of names) config[name].enabled = true;
  patch(config);
  return config;
}

async function roundTrip(client: Socket, payload: string): Promise<string> {
  client.write(payload);
  const [chunk] = (await once(client, 'data')) as [Buffer];
  return chunk.toString();
}

async function tlsClient(port: number, options: ConnectionOptions): Promise<TLSSocket> {
  const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
  await once(socket, 'secureConnect');
  return socket;
}

describe('MQTT TCP listener', () => {
  it('hands sockets to the sink and bytes flow both ways', () =>
    withTempDir(async (dataDir) => {
      const sink = new EchoSink();
      const running = await startListeners(
        sink,
        enable(['mqtt'], (c) => (c.mqtt.allowAnonymous = true)),
        {
          logger: silentLogger(),
          dataDir,
        },
      );
      try {
        const { port } = running.addresses.mqtt ?? assert.fail('no mqtt address');
        assert.ok(port > 0);
        const client = netConnect({ host: '127.0.0.1', port });
        const accepted = sink.next();
        assert.equal(await roundTrip(client, 'ping'), 'ping');
        const { info } = await accepted;
        assert.equal(info.listener, 'mqtt');
        assert.equal(info.remoteAddress, '127.0.0.1');
        assert.equal(info.allowAnonymous, true);
        assert.equal(running.tls, undefined);
        client.destroy();
      } finally {
        await running.close();
      }
    }));

  it('reports a taken port as LISTEN_FAILED naming listener and port', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as AddressInfo;
    try {
      const config = enable(['mqtt'], (c) => (c.mqtt.port = port));
      await assert.rejects(
        startListeners(new EchoSink(), config, { logger: silentLogger(), dataDir: '/nonexistent' }),
        (err) => {
          assert.ok(isHalyardError(err, 'LISTEN_FAILED'));
          assert.match(err.message, new RegExp(`mqtt .*:${port}`));
          assert.equal(err.context.port, port);
          return true;
        },
      );
    } finally {
      blocker.close();
    }
  });

  it('close() resolves while a client is still connected', () =>
    withTempDir(async (dataDir) => {
      const sink = new EchoSink();
      const running = await startListeners(sink, enable(['mqtt', 'mqtts']), {
        logger: silentLogger(),
        dataDir,
      });
      const plain = netConnect({ host: '127.0.0.1', port: running.addresses.mqtt?.port ?? 0 });
      const secure = await tlsClient(running.addresses.mqtts?.port ?? 0, { ca: running.tls?.ca });
      await sink.next();
      await sink.next();
      const closed = [once(plain, 'close'), once(secure, 'close')];
      await running.close();
      await Promise.all(closed);
    }));
});

describe('MQTT TLS listener', () => {
  it('serves the generated certificate, verifiable with the local CA', () =>
    withTempDir(async (dataDir) => {
      const sink = new EchoSink();
      const running = await startListeners(sink, enable(['mqtts']), { logger: silentLogger(), dataDir });
      try {
        const client = await tlsClient(running.addresses.mqtts?.port ?? 0, { ca: running.tls?.ca });
        assert.equal(client.authorized, true);
        assert.equal(await roundTrip(client, 'hello over tls'), 'hello over tls');
        const { info } = await sink.next();
        assert.equal(info.listener, 'mqtts');
        assert.equal(info.peerCertificate, undefined);
        client.destroy();
      } finally {
        await running.close();
      }
    }));

  it('refuses TLS 1.1 clients and logs the handshake failure at debug', () =>
    withTempDir(async (dataDir) => {
      const sink = new EchoSink();
      const { logger, lines } = captureLogger();
      const running = await startListeners(sink, enable(['mqtts']), { logger, dataDir });
      try {
        const client = tlsConnect({
          host: '127.0.0.1',
          port: running.addresses.mqtts?.port ?? 0,
          ca: running.tls?.ca,
          servername: 'localhost',
          minVersion: 'TLSv1',
          maxVersion: 'TLSv1.1',
          ciphers: 'DEFAULT@SECLEVEL=0', // so OpenSSL 3 will actually offer TLS 1.1
        });
        const [err] = (await once(client, 'error').catch((e: unknown) => [e])) as [Error & { code?: string }];
        // The server's protocol_version alert, not a client-side refusal to try.
        assert.equal(err.code, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
        assert.equal(sink.accepted.length, 0);
        assert.ok(lines.some((l) => l.msg === 'TLS handshake failed' && l.level === 20));
      } finally {
        await running.close();
      }
    }));

  it('uses user-supplied certificate files and passes trusted client certificates on', () =>
    withTempDir(async (dataDir) => {
      const ca = await createCertificateAuthority({ commonName: 'User CA', days: 30 });
      const leaf = await issueCertificate(ca, {
        commonName: 'broker',
        sans: ['localhost'],
        usage: 'server',
        days: 30,
      });
      const files = {
        certFile: join(dataDir, 'c.pem'),
        keyFile: join(dataDir, 'k.pem'),
        caFile: join(dataDir, 'ca.pem'),
      };
      await writeFile(files.certFile, leaf.certPem);
      await writeFile(files.keyFile, leaf.keyPem);
      await writeFile(files.caFile, ca.certPem);
      const device = await issueCertificate(ca, { commonName: 'device-7', usage: 'client', days: 30 });
      const sink = new EchoSink();
      const config = enable(['mqtts'], (c) => Object.assign(c.mqtts, files, { requestClientCert: true }));
      const running = await startListeners(sink, config, { logger: silentLogger(), dataDir });
      try {
        const port = running.addresses.mqtts?.port ?? 0;
        const client = await tlsClient(port, { ca: ca.certPem, cert: device.certPem, key: device.keyPem });
        assert.equal(client.getPeerCertificate().fingerprint256, leaf.fingerprint256);
        const { info } = await sink.next();
        assert.equal(info.peerCertificate?.subject?.CN, 'device-7');
        assert.equal(info.peerCertificate?.fingerprint256, device.fingerprint256);

        assert.equal(info.peerCertificate?.verified, true);

        // A certificate from some other CA is let through TLS, marked as not verified.
        const rogueCa = await createCertificateAuthority({ commonName: 'Rogue', days: 30 });
        const rogue = await issueCertificate(rogueCa, { commonName: 'device-7', usage: 'client', days: 30 });
        const rogueClient = await tlsClient(port, { ca: ca.certPem, cert: rogue.certPem, key: rogue.keyPem });
        const rogueInfo = (await sink.next()).info;
        assert.equal(rogueInfo.peerCertificate?.verified, false);
        assert.equal(rogueInfo.peerCertificate?.fingerprint256, rogue.fingerprint256);
        client.destroy();
        rogueClient.destroy();
      } finally {
        await running.close();
      }
    }));

  it('verifies device certificates issued by the local CA', () =>
    withTempDir(async (dataDir) => {
      const sink = new EchoSink();
      const config = enable(['mqtts'], (c) => (c.mqtts.requestClientCert = true));
      const running = await startListeners(sink, config, { logger: silentLogger(), dataDir });
      try {
        const device = await issueCertificate(await loadLocalCa(dataDir), {
          commonName: 'd1',
          usage: 'client',
          days: 1,
        });
        const port = running.addresses.mqtts?.port ?? 0;
        const client = await tlsClient(port, {
          ca: running.tls?.ca,
          cert: device.certPem,
          key: device.keyPem,
        });
        assert.equal((await sink.next()).info.peerCertificate?.subject?.CN, 'd1');
        client.destroy();
      } finally {
        await running.close();
      }
    }));
});
