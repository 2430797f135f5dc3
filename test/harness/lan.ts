/**
 * A UDP socket on 127.0.0.1 standing in for the LAN's broadcast address:
 * wake-hosts is pointed at it, so its magic packets never leave loopback.
 */
import { type Socket, createSocket } from "node:dgram";

export interface LanListener {
  socket: Socket;
  port: number;
  /** Every datagram received, in order, as hex. */
  got: Array<{ hex: string }>;
  close(): Promise<void>;
}

export async function udpListener(): Promise<LanListener> {
  const socket = createSocket("udp4");
  const got: Array<{ hex: string }> = [];
  socket.on("message", (data) => got.push({ hex: data.toString("hex") }));
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { socket, port: socket.address().port, got, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}
