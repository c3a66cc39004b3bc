/**
 * Asking one node something and waiting for its answer, over Redis pub/sub: the question on
 * that node's channel, the answer on ours, matched by request id. A node that nobody hears
 * (PUBLISH reached no subscriber) answers "gone" at once; one that does not answer in time
 * rejects the question.
 */
import { encodeControl, type Control } from './frame.js';
import type { ClusterKeys } from './keys.js';
import type { RedisLink } from './redis-link.js';

export type Request = Extract<Control, { t: 'req' }>;
export type Answer = { ok: boolean; data?: unknown; error?: string };
type Question = { op: Request['op']; clientId?: string; discard?: boolean; reason?: string };

export class Requests {
  private seq = 0;
  private readonly waiting = new Map<string, { resolve: (a: Answer) => void; timer: NodeJS.Timeout }>();
  private closed = false;

  constructor(
    private readonly link: RedisLink,
    private readonly keys: ClusterKeys,
    private readonly nodeId: string,
    private readonly timeoutMs: number,
    private readonly serve: (req: Request) => Promise<Answer>,
  ) {}

  /** Asks `node`; resolves with its answer, or { ok: false } when it is gone or silent. */
  async ask(node: string, question: Question): Promise<Answer> {
    const id = `${this.nodeId}:${++this.seq}`;
    const answered = new Promise<Answer>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ ok: false, error: `node ${node} did not answer within ${this.timeoutMs} ms` });
      }, this.timeoutMs);
      this.waiting.set(id, { resolve, timer });
    });
    let heard: number;
    try {
      heard = await this.link.publish(this.keys.ctlFor(node), encodeControl({ t: 'req', id, from: this.nodeId, ...question }));
    } catch (err) {
      this.settle(id, { ok: false, error: `Redis: ${(err as Error).message}` });
      return answered;
    }
    if (heard === 0) this.settle(id, { ok: false, error: `node ${node} is gone` });
    return answered;
  }

  /** A request or an answer arrived on this node's channel. */
  onControl(c: Control): void {
    if (this.closed) return;
    if (c.t === 'res') {
      this.settle(c.id, { ok: c.ok, data: c.data, error: c.error });
      return;
    }
    if (c.t !== 'req') return;
    void this.serve(c).then(
      (a) => this.reply(c, a),
      (err: unknown) => this.reply(c, { ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  }

  private reply(req: Request, a: Answer): void {
    const res: Control = { t: 'res', id: req.id, from: this.nodeId, ok: a.ok };
    if (a.data !== undefined) res.data = a.data;
    if (a.error !== undefined) res.error = a.error;
    this.link.publish(this.keys.ctlFor(req.from), encodeControl(res)).catch(() => undefined);
  }

  private settle(id: string, a: Answer): void {
    const w = this.waiting.get(id);
    if (w === undefined) return;
    this.waiting.delete(id);
    clearTimeout(w.timer);
    w.resolve(a);
  }

  /** Answers every open question with "closing". */
  close(): void {
    this.closed = true;
    for (const id of [...this.waiting.keys()]) this.settle(id, { ok: false, error: 'this node is leaving the cluster' });
  }
}
