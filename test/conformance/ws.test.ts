import { listenerTransport } from './listeners.js';
import { describeConformance } from './suite.js';

describeConformance('WebSocket', listenerTransport('ws'));
