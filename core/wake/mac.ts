/**
 * Wake-on-LAN addressing: a MAC address as people type it, and the magic
 * packet that wakes the network card that has it (6 bytes 0xFF, then the
 * 6-byte MAC 16 times: 102 bytes, as AMD's Magic Packet paper defines it).
 */

/** aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff (one separator throughout), aabb.ccdd.eeff; any case. */
const FORMATS = [/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i, /^[0-9a-f]{2}(-[0-9a-f]{2}){5}$/i, /^[0-9a-f]{4}(\.[0-9a-f]{4}){2}$/i];

/** Length of a magic packet in bytes. */
export const MAGIC_PACKET_BYTES = 102;

/**
 * The MAC address in `text` as "aa:bb:cc:dd:ee:ff" (lower case), or null
 * when it is not one of the accepted forms. Spaces around it are ignored.
 */
export function parseMac(text: unknown): string | null {
  if (typeof text !== "string") return null;
  const t = text.trim();
  if (t.length > 17 || !FORMATS.some((f) => f.test(t))) return null;
  const hex = t.replace(/[:.-]/g, "").toLowerCase();
  return hex.match(/../g)!.join(":");
}

/** The magic packet for `mac` (a text parseMac accepts); throws on anything else. */
export function magicPacket(mac: string): Buffer {
  const canonical = parseMac(mac);
  if (canonical === null) throw new Error(`not a MAC address: ${JSON.stringify(mac.slice(0, 40))}`);
  const bytes = Buffer.from(canonical.replace(/:/g, ""), "hex");
  const packet = Buffer.alloc(MAGIC_PACKET_BYTES, 0xff);
  for (let i = 0; i < 16; i++) bytes.copy(packet, 6 + i * 6);
  return packet;
}
