import { RC } from '../../broker/reason-codes.js';
import type { Waiter } from './admission.js';
import type { LinkAck } from './broker-link.js';
import { LINE_ERRORS, type LineErrorCode } from './errors.js';
import type { Terminator } from './frame-splitter.js';
import { encodeFrame, encodeRawFrame, parseFrame, PROTOCOL_VERSION, type ClientFrame } from './frames.js';
import { inboxFilter, inboxTopic } from './gate.js';
import { AUTH_FAILURES, endCode, refusalCode } from './outcomes.js';
import type { ConversationDeps, Link } from './ports.js';
import { ReplyQueue, type Reply } from './reply-queue.js';

/**
 * One connection's conversation, as a state machine over decoded frames. It
 * owns no socket: bytes go out through `ConversationOutput`, the broker is
 * reached through a `Link`, logins through the `LineGate` (ports.ts).
 *
 *   (connect) ─► waiting ─slot free─► greeted ─AUTH ok─► open
 *                  │                    │ ▲                │
 *                  │                    │ └─AUTH refused   │
 *                  └───────BYE──────────┴───────BYE────────┴─► ended ─HELLO─► waiting or greeted
 *   any state ─CLOSE, timeout, lost connection, kicked─► closed
 *
 * Replies leave in the order of the frames they answer, even when a PUB waits
 * for the store while a later PING could be answered at once; MSG frames are
 * not replies and go out as they come.
 */

export type ConversationState = 'waiting' | 'greeted' | 'authenticating' | 'open' | 'ended' | 'closed';

/** Replies outstanding beyond which reading pauses: a pipelining client has at most about this many in flight. */
const MAX_OUTSTANDING = 1000;

/** Where the answer to one frame goes, and the terminator that frame used. */
interface Answer {
  reply: Reply;
  terminator: Terminator;
}

type AuthFrame = Extract<ClientFrame, { cmd: 'AUTH' }>;
type SessionFrame = Extract<ClientFrame, { cmd: 'AUTH' | 'PUB' | 'SUB' | 'UNSUB' | 'SEND' }>;

export class Conversation implements Waiter {
  private state: ConversationState = 'ended';
  /** The terminator of the latest frame: MSG and WAIT frames use it. */
  private terminator: Terminator = 'lf';
  private nonce = '';
  private holdsSlot = false;
  private link: Link | undefined;
  private device: { id: string; tenantId: string } | undefined;
  private authTimer: NodeJS.Timeout | undefined;
  private readonly replies: ReplyQueue;
  /** Frames that arrived while an AUTH was being checked: they run once it is decided. */
  private readonly backlog: [Buffer, Terminator][] = [];
  private readonly heldAcks: (() => void)[] = [];
  private readingPaused = false;
  /** BYE or CLOSE, run once every earlier frame is answered (a PUB in flight is not cut off). */
  private afterAnswers: (() => void) | undefined;
  /** The client ended its side: close once every frame it sent is answered. */
  private inputEnded = false;

  constructor(private readonly deps: ConversationDeps) {
    this.replies = new ReplyQueue((bytes) => deps.output.write(bytes));
  }

  get current(): ConversationState {
    return this.state;
  }

  /** The connection is open: take a slot, or a place in line. */
  start(): void {
    this.deps.stats.connections++;
    this.requestSlot();
  }

  // ---------------------------------------------------------------- input

  receive(frame: Buffer, terminator: Terminator): void {
    if (this.state === 'closed') return;
    this.terminator = terminator;
    if (frame.length === 0) return; // an empty line (a person pressing Enter) is no frame
    this.deps.stats.framesReceived++;
    if (this.state === 'authenticating' || this.afterAnswers) {
      this.backlog.push([frame, terminator]);
      this.updateReading();
      return;
    }
    this.handle(frame, terminator);
  }

  /** The frame being read is over the maximum length: it is skipped, the conversation goes on. */
  frameTooLong(maxFrameLength: number): void {
    if (this.state === 'closed') return;
    this.deps.stats.framesReceived++;
    this.error(this.answer(this.terminator), 'frame-too-long', `frames are at most ${maxFrameLength} bytes`);
  }

  /** The output drained: the broker may send the next messages. */
  drained(): void {
    for (const ack of this.heldAcks.splice(0)) ack();
  }

  /** Ends with an ERR whose code closes the connection (idle timeout, server shutdown). */
  fail(code: LineErrorCode, reason: string): void {
    if (this.state === 'closed') return;
    this.error(this.answer(this.terminator), code, reason);
    this.closeConnection();
  }

  /** The client will send nothing more (it half-closed): answer what is outstanding, then close. */
  endOfInput(): void {
    this.inputEnded = true;
    this.closeIfAnswered();
  }

  /** The connection is gone: give the slot back, end the session. */
  connectionClosed(): void {
    if (this.state === 'closed') return;
    this.endConversation();
    this.state = 'closed';
    this.deps.stats.connections--;
    this.backlog.length = 0;
  }

  // ---------------------------------------------------------------- admission (Waiter)

  admitted(): void {
    if (this.state === 'waiting') this.greet();
    else this.deps.admission.release(); // gone meanwhile: pass the slot on
  }

  moved(position: number): void {
    if (this.state === 'waiting') this.reply(this.answer(this.terminator), 'WAIT', [String(position)]);
  }

  private requestSlot(): void {
    const result = this.deps.admission.request(this);
    if (result.kind === 'admitted') {
      this.greet();
    } else if (result.kind === 'queued') {
      this.state = 'waiting';
      this.reply(this.answer(this.terminator), 'WAIT', [String(result.position)]);
    } else {
      this.fail('busy', 'too many connections are waiting; try again later');
    }
  }

  private greet(): void {
    this.holdsSlot = true;
    this.state = 'greeted';
    this.deps.stats.conversationsTotal++;
    this.nonce = this.deps.newNonce();
    this.reply(this.answer(this.terminator), 'HALYARD', [PROTOCOL_VERSION, this.nonce]);
    clearTimeout(this.authTimer);
    const seconds = this.deps.authTimeoutMs / 1000;
    this.authTimer = setTimeout(
      () => this.fail('auth-timeout', `no AUTH within ${seconds} s of the greeting`),
      this.deps.authTimeoutMs,
    ).unref();
  }

  // ---------------------------------------------------------------- frames

  private handle(bytes: Buffer, terminator: Terminator): void {
    const answer = this.answer(terminator);
    const parsed = parseFrame(bytes);
    if (!parsed.ok) return this.error(answer, parsed.code, parsed.reason);
    const frame = parsed.frame;
    switch (frame.cmd) {
      case 'PING':
        return this.reply(answer, 'PONG');
      case 'REPEAT':
        return answer.reply(encodeRawFrame('OK', frame.text, terminator));
      case 'CLOSE':
        answer.reply(undefined);
        return this.whenAnswered(() => {
          this.reply(this.answer(terminator), 'BYE');
          this.closeConnection();
        });
      case 'BYE':
        answer.reply(undefined);
        return this.whenAnswered(() => {
          this.endConversation();
          this.reply(this.answer(terminator), 'BYE');
        });
      case 'HELLO':
        return this.hello(answer);
      default:
        return this.converse(frame, answer);
    }
  }

  private hello(answer: Answer): void {
    switch (this.state) {
      case 'ended':
        answer.reply(undefined); // the greeting (or WAIT) is the answer
        return this.requestSlot();
      case 'greeted':
        answer.reply(undefined);
        return this.greet(); // a fresh nonce: the previous one is void
      case 'open':
        return this.reply(answer, 'OK', [this.device?.id ?? '']);
      default:
        return this.error(answer, 'waiting', 'waiting for a free conversation slot');
    }
  }

  /** AUTH, PUB, SUB, UNSUB and SEND need a conversation; all but AUTH an authenticated one. */
  private converse(frame: SessionFrame, answer: Answer): void {
    if (this.state === 'waiting')
      return this.error(answer, 'waiting', 'waiting for a free conversation slot');
    if (this.state === 'ended') return this.error(answer, 'no-conversation', 'send HELLO to start one');
    if (frame.cmd === 'AUTH') {
      if (this.state === 'open') return this.error(answer, 'already-authenticated', 'AUTH succeeded already');
      void this.authenticate(frame, answer);
      return;
    }
    const { link, device } = this;
    if (!link || !device) return this.error(answer, 'auth-required', 'send AUTH first');
    const acknowledge = (ack: LinkAck) => this.acknowledge(answer, ack);
    switch (frame.cmd) {
      case 'PUB':
        return link.publish(frame.topic, frame.payload, frame.qos, (ack) =>
          this.acknowledge(answer, ack, true),
        );
      case 'SUB':
        return link.subscribe(frame.filter, acknowledge);
      case 'UNSUB':
        return link.unsubscribe(frame.filter, (ack) => {
          // 0x11 is a success in MQTT 5; here it tells a client its filter was not subscribed.
          if (ack.reason !== RC.NO_SUBSCRIPTION_EXISTED) return acknowledge(ack);
          this.error(answer, 'no-subscription', `not subscribed to ${frame.filter}`);
        });
      case 'SEND':
        return this.send(link, device, frame, answer);
    }
  }

  private async authenticate(frame: AuthFrame, answer: Answer): Promise<void> {
    this.state = 'authenticating';
    const clientId = this.deps.newClientId();
    const { proof, deviceId } = frame;
    try {
      const login = await this.deps.gate.login(
        proof.kind === 'hmac'
          ? { kind: 'hmac', deviceId, nonce: Buffer.from(this.nonce, 'latin1'), mac: proof.mac }
          : { kind: 'token', deviceId, token: proof.token },
        { listener: this.deps.listener, remoteAddress: this.deps.remoteAddress, clientId },
      );
      if (this.state !== 'authenticating') return; // the connection went away meanwhile
      if (!login.ok) {
        this.deps.stats.authFailures++;
        this.deps.log.debug({ deviceId, reason: login.reason }, 'line AUTH refused');
        this.state = 'greeted';
        const [code, reason] = AUTH_FAILURES[login.reason];
        this.error(answer, code, login.message ?? reason);
        return this.runBacklog();
      }
      const opened = await this.deps.openLink(login.identity, clientId, {
        onMessage: (topic, payload, ack) => this.deliver(topic, payload, ack),
        onEnd: (reason, reasonString) => this.sessionEnded(reason, reasonString),
      });
      if (this.state !== 'authenticating') {
        if (opened.ok) opened.link.close();
        return;
      }
      if (!opened.ok) {
        this.state = 'greeted';
        const code = opened.refused.reason === RC.SERVER_BUSY ? 'busy' : 'internal';
        return this.error(answer, code, opened.refused.reasonString ?? 'the broker refused the session');
      }
      this.open(opened.link, login.deviceId, login.tenantId, answer);
    } catch (err) {
      this.deps.log.error({ err, deviceId }, 'line AUTH failed');
      if (this.state === 'authenticating') this.error(answer, 'internal', 'authentication failed');
    }
  }

  private open(link: Link, deviceId: string, tenantId: string, answer: Answer): void {
    this.link = link;
    this.device = { id: deviceId, tenantId };
    this.state = 'open';
    clearTimeout(this.authTimer);
    // SEND reaches this device on its inbox: the OK waits until that subscription holds.
    link.subscribe(inboxFilter(deviceId), (ack) => {
      if (ack.reason >= 0x80) this.deps.log.debug({ deviceId, reason: ack.reason }, 'inbox not subscribed');
      this.reply(answer, 'OK');
      this.runBacklog();
    });
  }

  private send(
    link: Link,
    device: { id: string; tenantId: string },
    frame: Extract<ClientFrame, { cmd: 'SEND' }>,
    answer: Answer,
  ): void {
    this.deps.gate.isTenantDevice(device.tenantId, frame.dest).then(
      (known) => {
        if (!known) return this.error(answer, 'unknown-device', `no device ${frame.dest} in this tenant`);
        link.publish(inboxTopic(frame.dest, device.id, frame.type), frame.record, 1, (ack) => {
          if (ack.reason !== RC.NO_MATCHING_SUBSCRIBERS) return this.acknowledge(answer, ack, true);
          this.error(answer, 'no-receiver', `${frame.dest} is not listening on its inbox`);
        });
      },
      (err: unknown) => {
        this.deps.log.error({ err }, 'line SEND: device lookup failed');
        this.error(answer, 'not-stored', 'the destination could not be looked up');
      },
    );
  }

  private acknowledge(answer: Answer, ack: LinkAck, published = false): void {
    if (ack.reason < 0x80) {
      if (published) this.deps.stats.messagesPublished++;
      return this.reply(answer, 'OK');
    }
    const why = ack.reasonString ?? `refused (reason 0x${ack.reason.toString(16)})`;
    this.error(answer, refusalCode(ack.reason), why);
  }

  // ---------------------------------------------------------------- from the broker

  private deliver(topic: string, payload: Buffer, ack: () => void): void {
    if (this.state !== 'open') return;
    this.deps.output.write(encodeFrame('MSG', [topic, payload], this.terminator));
    if (this.deps.output.congested()) this.heldAcks.push(ack);
    else ack();
  }

  private sessionEnded(reason: number | undefined, reasonString: string | undefined): void {
    this.link = undefined;
    if (this.state === 'open') this.fail(endCode(reason), reasonString ?? 'the session ended');
  }

  // ---------------------------------------------------------------- endings

  private endConversation(): void {
    clearTimeout(this.authTimer);
    const link = this.link;
    this.link = undefined;
    this.device = undefined;
    this.heldAcks.length = 0;
    link?.close();
    if (this.state === 'waiting') this.deps.admission.leave(this);
    this.state = 'ended';
    if (this.holdsSlot) {
      this.holdsSlot = false;
      this.deps.admission.release();
    }
  }

  private closeConnection(): void {
    if (this.state === 'closed') return;
    this.endConversation();
    this.state = 'closed';
    this.deps.stats.connections--;
    this.backlog.length = 0;
    this.replies.drain();
    this.deps.output.close();
  }

  private whenAnswered(action: () => void): void {
    if (this.replies.outstanding === 0) action();
    else this.afterAnswers = action; // frames arriving meanwhile wait in the backlog
  }

  private runBacklog(): void {
    while (
      this.backlog.length > 0 &&
      !this.afterAnswers &&
      this.state !== 'authenticating' &&
      this.state !== 'closed'
    ) {
      const [frame, terminator] = this.backlog.shift() as [Buffer, Terminator];
      this.terminator = terminator;
      this.handle(frame, terminator);
    }
    this.updateReading();
    this.closeIfAnswered();
  }

  private closeIfAnswered(): void {
    const pending = this.replies.outstanding + this.backlog.length;
    if (this.inputEnded && pending === 0 && !this.afterAnswers && this.state !== 'authenticating')
      this.closeConnection();
  }

  // ---------------------------------------------------------------- replies

  private answer(terminator: Terminator): Answer {
    const reply = this.replies.reserve();
    this.updateReading();
    return {
      terminator,
      reply: (bytes) => {
        reply(bytes);
        const action = this.afterAnswers;
        if (action && this.replies.outstanding === 0) {
          this.afterAnswers = undefined;
          action();
          return this.runBacklog();
        }
        this.updateReading();
        this.closeIfAnswered();
      },
    };
  }

  private reply(answer: Answer, command: string, fields: readonly (string | Buffer)[] = []): void {
    answer.reply(encodeFrame(command, fields, answer.terminator));
  }

  private error(answer: Answer, code: LineErrorCode, reason: string): void {
    this.deps.stats.errorsSent++;
    this.reply(answer, 'ERR', [code, reason]);
    if (LINE_ERRORS[code].closes) this.closeConnection();
  }

  private updateReading(): void {
    const outstanding = this.replies.outstanding + this.backlog.length;
    // Hysteresis: pause above the limit, resume only once half of it is answered.
    const pause = this.readingPaused ? outstanding > MAX_OUTSTANDING / 2 : outstanding > MAX_OUTSTANDING;
    if (pause === this.readingPaused || this.state === 'closed') return;
    this.readingPaused = pause;
    this.deps.output.setReading(!pause);
  }
}
