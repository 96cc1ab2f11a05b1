// @peculiar/x509 resolves its algorithms through tsyringe, which refuses to load without the
// Reflect metadata API; ESM evaluates sibling imports in order, so the polyfill must come first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// Node's WebCrypto is the only provider we use; setting it here means no caller can forget.
x509.cryptoProvider.set(webcrypto);

export { x509 };
