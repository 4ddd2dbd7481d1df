/**
 * A minimal Chrome DevTools Protocol client over a WebSocket (RFC 6455), for bench P5's V8 CPU
 * profiles of workerd. Written here rather than taken from a library: Node 20 has no WebSocket
 * client without a flag, and wrangler's inspector proxy refuses an upgrade that carries a
 * User-Agent without an allowed `Origin` (miniflare's inspector proxy, "Expected `Origin`
 * header"), which this client sends. Text frames only, as CDP uses; the client's frames are
 * masked as the RFC requires, the server's are not.
 */
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import type { Socket } from "node:net";

export interface Cdp {
  send<T = any>(method: string, params?: Record<string, unknown>): Promise<T>;
  close(): void;
}

export function connectCdp(port: number, path = "/ws"): Promise<Cdp> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      path,
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": randomBytes(16).toString("base64"),
        origin: "http://127.0.0.1",
      },
    });
    req.once("error", reject);
    req.once("response", (res) => reject(new Error(`The inspector refused the upgrade: ${res.statusCode}`)));
    req.once("upgrade", (_res, socket, head) => resolve(client(socket, head)));
    req.end();
  });
}

function client(socket: Socket, head: Buffer): Cdp {
  let buf = head;
  let message: Buffer[] = [];
  let seq = 0;
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  const fail = (e: Error) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  socket.on("error", fail);
  socket.on("close", () => fail(new Error("The inspector connection closed")));
  socket.on("data", (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const fin = (buf[0]! & 0x80) !== 0;
      const op = buf[0]! & 0x0f;
      let len = buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        at = 10;
      }
      if (buf.length < at + len) return;
      const payload = buf.subarray(at, at + len);
      buf = buf.subarray(at + len);
      if (op === 0x8) return socket.end();
      if (op === 0x9) {
        frame(0xa, payload);
        continue;
      }
      if (op !== 0x1 && op !== 0x0) continue;
      message.push(Buffer.from(payload));
      if (!fin) continue;
      const text = Buffer.concat(message).toString("utf8");
      message = [];
      const msg = JSON.parse(text) as { id?: number; result?: unknown; error?: { message: string } };
      const p = msg.id === undefined ? undefined : pending.get(msg.id);
      if (!p) continue; // an event: P5 needs none
      pending.delete(msg.id!);
      if (msg.error) p.reject(new Error(`CDP: ${msg.error.message}`));
      else p.resolve(msg.result);
    }
  });
  function frame(op: number, payload: Buffer) {
    const mask = randomBytes(4);
    const len = payload.length;
    const header = len < 126
      ? Buffer.from([0x80 | op, 0x80 | len])
      : len < 65536
      ? Buffer.from([0x80 | op, 0x80 | 126, len >> 8, len & 0xff])
      : Buffer.concat([Buffer.from([0x80 | op, 0x80 | 127]), bigLength(len)]);
    const masked = Buffer.alloc(len);
    for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
    socket.write(Buffer.concat([header, mask, masked]));
  }
  return {
    send(method, params) {
      const id = ++seq;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        frame(0x1, Buffer.from(JSON.stringify({ id, method, ...(params ? { params } : {}) })));
      });
    },
    close() {
      frame(0x8, Buffer.alloc(0));
      socket.end();
    },
  };
}

function bigLength(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
