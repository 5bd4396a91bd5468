// `sgas serve`: a static server for the search page (dist/web), the embedded data under /data/
// and the golden vectors under /golden/. It sends COOP/COEP so the page is cross-origin isolated
// (SharedArrayBuffer, which the WebAssembly backend's worker threads need). WebGPU needs a secure
// context: http://127.0.0.1 and http://localhost count as one, any other host needs https.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { tmpdir } from 'node:os';
import { embeddedDataDir } from '../data/load.ts';
import type { LeaseDesk } from '../sweep/lease.ts';
import { numberFlag, numericOptions, parseFlags, UsageError, type Range } from './args.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.md': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface ServeRoots {
  /** The built page (index.html, main.js, style.css). */
  web: string;
  /** Served under /data/: the embedded Fashion-MNIST .gz files. */
  data: string;
  /** Served under /golden/: the golden-vector JSON files. */
  golden: string;
}

/** The project's folders, found from the embedded data (it resolves from src/ and from dist/). */
export function projectRoots(): ServeRoots {
  const data = embeddedDataDir();
  const root = dirname(dirname(data));
  return { web: join(root, 'dist', 'web'), data, golden: join(root, 'test', 'golden') };
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Maps a URL path to a file under one of the roots; null if it is outside them. */
function resolvePath(roots: ServeRoots, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const mounts: [string, string][] = [['/data/', roots.data], ['/golden/', roots.golden], ['/', roots.web]];
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length) || 'index.html';
    const file = normalize(join(dir, rest));
    return file.startsWith(dir + sep) ? file : null;
  }
  return null;
}

export interface ServeOptions {
  port?: number;
  host?: string;
  roots?: ServeRoots;
  /** Lends a sweep's jobs to pages under /sweep (sgas serve --redis). */
  lending?: LeaseDesk;
}

export function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const roots = options.roots ?? projectRoots();
  if (!existsSync(join(roots.web, 'index.html'))) {
    throw new UsageError(`${join(roots.web, 'index.html')} not found: build the page first (npm run build)`);
  }
  const server: Server = createServer(async (req, res) => {
    if (options.lending && await options.lending.handle(req, res)) return;
    const file = resolvePath(roots, new URL(req.url ?? '/', 'http://x').pathname);
    const found = file !== null && existsSync(file) && statSync(file).isFile();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', ...ISOLATION_HEADERS }).end();
    } else if (!found) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...ISOLATION_HEADERS }).end('not found\n');
    } else {
      // .gz files go out as they are (no Content-Encoding): the page gunzips them itself.
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': statSync(file).size,
        'Cache-Control': 'no-cache',
        ...ISOLATION_HEADERS,
      });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
    }
  });
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new UsageError(`serve: cannot listen on ${host}:${options.port ?? 0} (${e.code ?? e.message})`)));
    server.listen(options.port ?? 0, host, () => {
      const { port } = server.address() as AddressInfo;
      const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
      resolve({
        url: `http://${shown}:${port}/`,
        close: async () => {
          await new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          });
          await options.lending?.close();
        },
      });
    });
  });
}

/** The range of every numeric flag of sgas serve, by flag name (port 0: any free port). */
export const SERVE_FLAG_RANGES = { port: { integer: true, min: 0, max: 65535 }, 'stalled-after': { above: 0 } } satisfies Record<string, Range>;

const SERVE_HELP = `usage: sgas serve [--port N] [--host 127.0.0.1] [--redis redis://HOST:PORT [--token T]]

Serves the search page (build it first: npm run build). With --redis, the page gets a "Join sweep"
button: it takes jobs of sgas sweep --redis from the queue and runs them on its own backend. Jobs
are lent to pages on this machine only, unless --token T is given (required with a --host that is
not a loopback address); then open the page as http://HOST:PORT/?token=T.
`;

const isLoopback = (host: string) => ['127.0.0.1', 'localhost', '::1'].includes(host) || host.startsWith('127.');

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('serve', argv, {
    ...numericOptions(SERVE_FLAG_RANGES), host: { type: 'string' }, redis: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const port = numberFlag('port', values.port, 8080, SERVE_FLAG_RANGES.port);
  const stalledAfter = numberFlag('stalled-after', values['stalled-after'], 30, SERVE_FLAG_RANGES['stalled-after']);
  if (values['stalled-after'] !== undefined && !values.redis) throw new UsageError('--stalled-after is the lease of a job lent with --redis: add --redis redis://HOST:PORT');
  const host = values.host ?? '127.0.0.1';
  if (values.token !== undefined && !values.redis) throw new UsageError('--token guards the sweep jobs lent with --redis: add --redis redis://HOST:PORT');
  if (values.redis && !isLoopback(host) && !values.token) {
    throw new UsageError(`--host ${host} lends sweep jobs beyond this machine: add --token T (pages then open ?token=T)`);
  }
  if (values.redis) await (await import('../sweep/queue.ts')).reachRedis(values.redis);
  const log = (line: string) => process.stderr.write(line + '\n');
  const lending = values.redis ? await (await import('../sweep/lease.ts')).LeaseDesk.open({
    redis: values.redis, token: values.token, log, work: join(tmpdir(), `sgas-serve-${process.pid}`),
    stalledAfterMs: 1000 * stalledAfter,
  }) : undefined;
  const server = await startServer({ port, host, lending });
  process.stderr.write(`sgas serve: the search page is at ${server.url}${values.token ? `?token=${values.token}` : ''}${lending ? `, lending the jobs of ${values.redis}` : ''} (Ctrl-C stops)\n`);
  if (!isLoopback(host)) {
    process.stderr.write('sgas serve: browsers only offer WebGPU in a secure context: open it as http://localhost or put https in front\n');
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}
