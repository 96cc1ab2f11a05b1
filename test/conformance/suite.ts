import { describe } from 'node:test';
import { connectionCases } from './connection.test-cases.js';
import { propertiesCases } from './properties.test-cases.js';
import { qosCases } from './qos.test-cases.js';
import { retainedCases } from './retained.test-cases.js';
import { sessionCases } from './session.test-cases.js';
import { subscriptionCases } from './subscriptions.test-cases.js';
import { caseFor, type StartServer } from './support.js';
import { willCases } from './will.test-cases.js';

export type { BrokerSetup, ConformanceServer, StartServer } from './support.js';

/**
 * The MQTT conformance suite, run against a broker reached over one transport.
 * Every case starts its own broker through `start` and ends every client it made.
 */
export function describeConformance(transportName: string, start: StartServer): void {
  void describe(`MQTT conformance over ${transportName}`, () => {
    const c = caseFor(start);
    void describe('QoS', () => qosCases(c));
    void describe('retained messages', () => retainedCases(c));
    void describe('subscriptions', () => subscriptionCases(c));
    void describe('MQTT 5 properties and limits', () => propertiesCases(c));
    void describe('connections', () => connectionCases(c));
    void describe('sessions', () => sessionCases(c));
    void describe('wills', () => willCases(c));
  });
}
