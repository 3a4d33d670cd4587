import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { inspectorHtml } from '../../src/panels/html';
import { buildScenario, ROOT, type Scenario } from './fixtures';
import { encodeWire } from './wire';

/**
 * The Inspector webview outside VS Code, for fast work on the views: serves the same HTML (same CSP, plus
 * connect-src 'self' so the fake host can fetch its fixture), webview/main.ts bundled as dist/webview.js is,
 * media/inspector.css, and a
 * fake host (fakeHost.ts) that plays the extension's side of the protocol with real engine fixtures.
 *   npx tsx test/webview-standalone/serve.ts [port]   then open http://127.0.0.1:port/?scenario=demo&theme=dark
 */
export interface StandaloneServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startServer(port = 0, log: (s: string) => void = () => {}): Promise<StandaloneServer> {
  const scenarios = new Map<string, Promise<Uint8Array>>();
  const scenario = (name: string): Promise<Uint8Array> => {
    let p = scenarios.get(name);
    if (!p) {
      p = buildScenario(name, log).then((s: Scenario) => encodeWire(s));
      scenarios.set(name, p);
    }
    return p;
  };
  // its own bundles, built as esbuild.js builds dist/webview.js for production (dist/ may be rebuilt meanwhile)
  const bundle = async (entry: string): Promise<string> => (await build({
    entryPoints: [entry], bundle: true, write: false, platform: 'browser', format: 'iife', target: 'es2022', minify: true, legalComments: 'none',
  })).outputFiles[0]!.text;
  const [fakeHost, webview] = await Promise.all([bundle(path.join(__dirname, 'fakeHost.ts')), bundle(path.join(ROOT, 'webview/main.ts'))]);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (type: string, body: string | Uint8Array): void => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    try {
      if (url.pathname === '/') {
        send('text/html; charset=utf-8', inspectorHtml({
          cspSource: "'self'", nonce: 'standalone0nonce0standalone0nonce', scriptUri: '/dist/webview.js', styleUri: '/media/inspector.css',
          title: 'Gatescope Inspector (standalone)', preScripts: ['/fakeHost.js'], connectSrc: "'self'",
        }));
      } else if (url.pathname === '/dist/webview.js') {
        send('text/javascript', webview);
      } else if (url.pathname === '/media/inspector.css') {
        send('text/css', readFileSync(path.join(ROOT, 'media/inspector.css')));
      } else if (url.pathname === '/fakeHost.js') {
        send('text/javascript', fakeHost);
      } else if (url.pathname.startsWith('/data/')) {
        const name = path.basename(url.pathname, '.bin');
        scenario(name).then((bytes) => send('application/octet-stream', bytes), (e: Error) => { res.writeHead(500); res.end(e.message); });
      } else if (url.pathname === '/favicon.ico') {
        res.writeHead(204);
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** Builds a scenario ahead of time (training on first use takes a while). */
export async function warm(names: readonly string[], log: (s: string) => void): Promise<void> {
  for (const n of names) await buildScenario(n, log);
}

if (require.main === module) {
  void startServer(Number(process.argv[2] ?? 8123), (s) => console.log(s)).then((s) => {
    console.log(`Gatescope Inspector standalone: ${s.url}/?scenario=demo&theme=dark  (scenarios: demo, gru, rnn, bench; theme: dark, light)`);
  });
}
