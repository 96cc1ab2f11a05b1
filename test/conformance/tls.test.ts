import { listenerTransport } from './listeners.js';
import { describeConformance } from './suite.js';

describeConformance('TLS', listenerTransport('mqtts'));
