import { readFileSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
export function portAcceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A TCP port free on `host` a moment ago, below the kernel's ephemeral range (freePortRange): the
 * process that will listen on it races only other explicit listeners, not every outgoing
 * connection's source port.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return freePortRange(1, host);
}

const PORT_RANGE_ATTEMPTS = 50;
/** the lowest port freePortRange picks from: above the well-known and most registered service ports */
const PORT_RANGE_LOW = 10_000;

/** The kernel's ephemeral port range (outgoing connections' source ports, and what freePort answers). */
function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return low !== undefined && Number.isInteger(low) && low > PORT_RANGE_LOW ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * The first of `count` consecutive TCP ports free on `host` now, below the kernel's ephemeral
 * range. A port from freePort (or the ones after it) sits in that range, where any outgoing
 * connection of any process may take it as its source port before the service meant to listen on
 * it does (a chaos run lost intake's health port that way: EADDRINUSE on every restart); below
 * it only an explicit listener can. Picked at random, each port checked by binding it.
 */
export async function freePortRange(count: number, host = '127.0.0.1'): Promise<number> {
  const high = ephemeralLow() - count;
  for (let attempt = 0; attempt < PORT_RANGE_ATTEMPTS; attempt++) {
    const base = PORT_RANGE_LOW + Math.floor(Math.random() * (high - PORT_RANGE_LOW));
    let free = true;
    for (let i = 0; i < count && free; i++) free = await canBind(base + i, host);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports below ${high + count} after ${PORT_RANGE_ATTEMPTS} tries`);
}
