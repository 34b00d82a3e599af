/** A packet as aedes hands it to the persistence; stored and returned with the same own keys. */
export interface StoredPacket {
  [key: string]: unknown;
  cmd?: string;
  topic?: string;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
  clientId?: string;
  qos?: number;
}

export interface EncodedPacket {
  /** JSON: `[fields without payload, keys whose value is undefined, payload kind]` */
  head: string;
  /** BLOB for a Buffer payload, TEXT for a string payload (SQLite keeps the storage class). */
  payload: Buffer | string | null;
}

const enum PayloadKind {
  None = 0,
  Bytes = 1,
  Text = 2,
  Null = 3,
}

const BUFFER_TAG = '__laned_base64';

function replaceBytes(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return raw instanceof Uint8Array ? { [BUFFER_TAG]: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') } : value;
}

function reviveBytes(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const tagged = (value as Record<string, unknown>)[BUFFER_TAG];
    if (typeof tagged === 'string' && Object.keys(value).length === 1) return Buffer.from(tagged, 'base64');
  }
  return value;
}

/**
 * Own keys survive a round trip, including keys set to undefined (aedes-packet
 * sets `messageId: undefined` on QoS > 0) and Buffers nested in MQTT 5 properties.
 */
export function encodePacket(packet: StoredPacket): EncodedPacket {
  const fields: Record<string, unknown> = {};
  const undefinedKeys: string[] = [];
  let kind = PayloadKind.None;
  let payload: Buffer | string | null = null;
  for (const key of Object.keys(packet)) {
    const value = packet[key];
    if (value === undefined) {
      undefinedKeys.push(key);
    } else if (key === 'payload' && value instanceof Uint8Array) {
      kind = PayloadKind.Bytes;
      payload = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    } else if (key === 'payload' && typeof value === 'string') {
      kind = PayloadKind.Text;
      payload = value;
    } else if (key === 'payload' && value === null) {
      kind = PayloadKind.Null;
    } else {
      fields[key] = value;
    }
  }
  return { head: JSON.stringify([fields, undefinedKeys, kind], replaceBytes), payload };
}

/** Throws on a row that this codec did not write (a corrupt file). */
export function decodePacket(head: string, payload: Buffer | string | null): StoredPacket {
  const parsed: unknown = JSON.parse(head, reviveBytes);
  if (!Array.isArray(parsed) || parsed.length !== 3 || typeof parsed[0] !== 'object' || parsed[0] === null || !Array.isArray(parsed[1])) {
    throw new Error(`malformed packet record ${head.slice(0, 80)}`);
  }
  const packet = parsed[0] as StoredPacket;
  for (const key of parsed[1] as unknown[]) packet[String(key)] = undefined;
  switch (parsed[2]) {
    case PayloadKind.Bytes:
      packet.payload = Buffer.isBuffer(payload) ? payload : Buffer.from(payload ?? '');
      break;
    case PayloadKind.Text:
      packet.payload = typeof payload === 'string' ? payload : (payload ?? Buffer.alloc(0)).toString('utf8');
      break;
    case PayloadKind.Null:
      packet.payload = null;
      break;
    case PayloadKind.None:
      break;
    default:
      throw new Error(`malformed packet record ${head.slice(0, 80)}`);
  }
  return packet;
}
