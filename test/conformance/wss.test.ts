import { listenerTransport } from './listeners.js';
import { describeConformance } from './suite.js';

describeConformance('secure WebSocket', listenerTransport('wss'));
