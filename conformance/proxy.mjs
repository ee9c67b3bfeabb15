#!/usr/bin/env node
// A small HTTP proxy on loopback that imitates the networks a realtime client meets: one that
// buffers streams, refuses them, stalls, cuts connections, or is down. It sits between a client under
// test and the real server; its mode changes at run time through a control endpoint or stdin. Plain
// JavaScript, no dependencies: the TypeScript and the Rust conformance runners both start it with
// `node conformance/proxy.mjs --upstream URL` (interface: conformance/README.md).
//
// Modes (a "stream" is a response with Content-Type text/event-stream; a "stream request" is
// `GET /v1/events`, not the long-poll path):
//   pass     forward everything as it comes
//   buffer   hold a stream's body until it ends or `buffer_kb` KB have gathered (a buffering proxy)
//   refuse   answer stream requests with 502 and an HTML page; everything else passes
//   stall    forward no more bytes on any connection, open or new, and keep the sockets open;
//            a connection stalled once stays dead after the mode changes
//   down     reset every open and every new connection
// Action:
//   cut      reset every open connection now (the mode stays)
// An unreachable upstream resets the client's connection (no 502), so a restart of the server looks
// the same through the proxy as without it.
import { createServer, request as httpRequest } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MODES = new Set(['pass', 'buffer', 'refuse', 'stall', 'down']);

/**
 * Starts a proxy in front of `upstream` (e.g. `http://127.0.0.1:3000`).
 * @param {{ upstream: string, host?: string, port?: number, controlPort?: number, mode?: string, bufferKb?: number }} options
 */
export async function startProxy(options) {
  const upstream = new URL(options.upstream);
  const host = options.host ?? '127.0.0.1';
  const state = { mode: options.mode ?? 'pass', bufferKb: options.bufferKb ?? 64, connections: 0, streams: 0, requests: 0 };
  const sockets = new Set();
  const stalled = new WeakSet();

  const proxy = createServer((req, res) => {
    const socket = req.socket;
    state.requests++;
    if (stalled.has(socket)) return; // a stalled connection answers nothing, ever
    const isStreamRequest = req.method === 'GET' && req.url.split('?')[0] === '/v1/events';
    if (state.mode === 'refuse' && isStreamRequest) {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return;
    }
    const headers = { ...req.headers, host: upstream.host };
    const outbound = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (answer) => {
        if (stalled.has(socket)) return answer.destroy();
        const isStream = (answer.headers['content-type'] ?? '').startsWith('text/event-stream');
        if (isStream) state.streams++;
        res.writeHead(answer.statusCode, answer.statusMessage, answer.headers);
        res.flushHeaders();
        const buffering = isStream && state.mode === 'buffer';
        let held = [];
        let heldBytes = 0;
        answer.on('data', (chunk) => {
          if (stalled.has(socket)) return;
          if (!buffering) return void res.write(chunk);
          held.push(chunk);
          heldBytes += chunk.length;
          if (heldBytes >= state.bufferKb * 1024) {
            res.write(Buffer.concat(held));
            held = [];
            heldBytes = 0;
          }
        });
        answer.on('end', () => {
          if (stalled.has(socket)) return;
          if (held.length) res.write(Buffer.concat(held));
          res.end();
        });
        answer.on('error', () => socket.destroy());
      },
    );
    outbound.on('error', () => socket.destroy());
    res.on('close', () => outbound.destroy());
    req.pipe(outbound);
  });
  proxy.keepAliveTimeout = 60_000;
  proxy.on('connection', (socket) => {
    if (state.mode === 'down') return void socket.destroy();
    state.connections++;
    if (state.mode === 'stall') stalled.add(socket);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });

  function cut() {
    for (const socket of sockets) socket.destroy();
  }
  function setMode(mode, bufferKb) {
    if (!MODES.has(mode)) throw new Error(`unknown mode ${mode}`);
    state.mode = mode;
    if (bufferKb !== undefined) state.bufferKb = bufferKb;
    if (mode === 'stall') for (const socket of sockets) stalled.add(socket);
    if (mode === 'down') cut();
  }
  /** Applies one command: `{ "mode": "buffer", "buffer_kb": 64 }` or `{ "action": "cut" }`. */
  function command(body) {
    if (body.action === 'cut') cut();
    else if (body.action !== undefined) throw new Error(`unknown action ${body.action}`);
    if (body.mode !== undefined) setMode(body.mode, body.buffer_kb);
    return snapshot();
  }
  function snapshot() {
    return { mode: state.mode, buffer_kb: state.bufferKb, open_connections: sockets.size, connections: state.connections, streams: state.streams, requests: state.requests };
  }

  const control = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      try {
        const answer = req.method === 'POST' ? command(text ? JSON.parse(text) : {}) : snapshot();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer));
      } catch (error) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(error.message ?? error) }));
      }
    });
  });

  await new Promise((r) => proxy.listen(options.port ?? 0, host, r));
  await new Promise((r) => control.listen(options.controlPort ?? 0, host, r));
  return {
    url: `http://${host}:${proxy.address().port}`,
    controlUrl: `http://${host}:${control.address().port}`,
    command,
    setMode,
    cut,
    snapshot,
    async close() {
      cut();
      await Promise.all([new Promise((r) => proxy.close(r)), new Promise((r) => control.close(r))]);
    },
  };
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = parseArgs(process.argv.slice(2));
  if (!args.upstream) {
    console.error('usage: node proxy.mjs --upstream http://127.0.0.1:PORT [--listen 127.0.0.1:0] [--control 127.0.0.1:0] [--mode pass] [--buffer-kb 64]');
    process.exit(2);
  }
  const [host, port] = (args.listen ?? '127.0.0.1:0').split(':');
  const controlPort = Number((args.control ?? '127.0.0.1:0').split(':')[1]);
  const proxy = await startProxy({ upstream: args.upstream, host, port: Number(port), controlPort, mode: args.mode, bufferKb: args['buffer-kb'] ? Number(args['buffer-kb']) : undefined });
  process.stdout.write(JSON.stringify({ proxy: proxy.url, control: proxy.controlUrl }) + '\n');
  // stdin commands, one per line: `mode buffer [KB]`, `mode pass`, `cut`, `state`.
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [word, arg, extra] = line.trim().split(/\s+/);
    try {
      const answer =
        word === 'cut' ? proxy.command({ action: 'cut' })
        : word === 'mode' ? proxy.command({ mode: arg, buffer_kb: extra ? Number(extra) : undefined })
        : proxy.snapshot();
      process.stdout.write(JSON.stringify(answer) + '\n');
    } catch (error) {
      process.stdout.write(JSON.stringify({ error: String(error.message ?? error) }) + '\n');
    }
  });
  const shutdown = () => proxy.close().then(() => process.exit(0));
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
