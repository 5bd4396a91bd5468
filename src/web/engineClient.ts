// The page's side of the engine Worker: starts it (a module worker next to the page's bundle),
// sends requests, hands events to listeners, and pairs answers with the requests that want one.
import { transferables, type EngineEvent, type EngineRequest } from './protocol.ts';

type Answer = Extract<EngineEvent, { id: number }>;
type Asked = Extract<EngineRequest, { id: number }>;

export class EngineClient {
  private readonly worker: Worker;
  private readonly listeners = new Set<(event: EngineEvent) => void>();
  private readonly waiting = new Map<number, (answer: Answer) => void>();
  private nextId = 1;

  constructor(url = new URL('./engine.js', import.meta.url)) {
    this.worker = new Worker(url, { type: 'module', name: 'sgas engine' });
    this.worker.onmessage = ({ data }: MessageEvent<EngineEvent>) => {
      if ('id' in data) {
        this.waiting.get(data.id)?.(data);
        this.waiting.delete(data.id);
        return;
      }
      for (const listener of this.listeners) listener(data);
    };
    // A worker that fails to load (a missing engine.js, a syntax error) or throws outside a job.
    this.worker.onerror = (e) => {
      e.preventDefault();
      for (const listener of this.listeners) listener({ type: 'crashed', message: `the engine Worker failed: ${e.message || 'it did not load'}` });
    };
  }

  listen(listener: (event: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(request: EngineRequest): void {
    this.worker.postMessage(request, transferables(request));
  }

  /**
   * Sends a request that wants one answer, and resolves with it; an answer saying an error rejects
   * with it. `id` is the request's, for events about it.
   */
  ask<T extends Asked['type']>(request: { type: T } & Omit<Extract<Asked, { type: T }>, 'id'>, id = this.nextId++): Promise<Extract<Answer, { type: T }>> {
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (answer) => (answer.error ? reject(new Error(answer.error)) : resolve(answer as Extract<Answer, { type: T }>)));
      this.send({ ...request, id } as unknown as Asked);
    });
  }

  /** A fresh request id, for a request whose events are listened to before it is sent. */
  newId(): number {
    return this.nextId++;
  }
}
