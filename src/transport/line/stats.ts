import { counter, gauge, type MetricSample } from '../../api/metrics.js';
import type { Admission } from './admission.js';

/** Counters of one line listener, for /metrics. Plain numbers: cheap to bump per frame. */
export class LineStats {
  connections = 0;
  conversationsTotal = 0;
  framesReceived = 0;
  errorsSent = 0;
  authFailures = 0;
  messagesPublished = 0;

  constructor(
    readonly listener: string,
    private readonly admission: Admission,
  ) {}

  samples(): MetricSample[] {
    const labels = { listener: this.listener };
    const a = this.admission;
    const samples = [
      gauge(
        'halyard_line_connections',
        'Open line-protocol connections (talking or waiting).',
        this.connections,
      ),
      gauge('halyard_line_conversations', 'Line-protocol conversations holding a slot.', a.conversations),
      gauge(
        'halyard_line_max_conversations',
        'The cap on concurrent conversations (maxConversations).',
        a.maxConversations,
      ),
      gauge(
        'halyard_line_waiting',
        'Connections waiting for a conversation slot (WAIT queue length).',
        a.waiting,
      ),
      counter(
        'halyard_line_conversations_total',
        'Conversations started (greeted).',
        this.conversationsTotal,
      ),
      counter('halyard_line_frames_received_total', 'Frames received from clients.', this.framesReceived),
      counter('halyard_line_errors_sent_total', 'ERR frames sent to clients.', this.errorsSent),
      counter('halyard_line_auth_failures_total', 'Refused AUTH frames.', this.authFailures),
      counter('halyard_line_published_total', 'PUB and SEND frames answered OK.', this.messagesPublished),
    ];
    return samples.map((s) => ({ ...s, labels }));
  }
}
