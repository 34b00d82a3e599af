// Members aedes keeps on its instances (lib/client.js, aedes.js) that its typings leave out.
import type { Client } from 'aedes';

/** What aedes' delivery functions are handed: the packet's origin, for the per-client `duplicates` check. */
interface DeliveredPacket {
  brokerId?: string;
  brokerCounter?: number;
}

declare module 'aedes' {
  interface Aedes {
    /** Connected clients by id (aedes.js `this.clients`). */
    readonly clients: Readonly<Record<string, Client>>;
  }

  interface Client {
    /** The highest broker counter delivered per broker id (lib/client.js `dedupe()`). */
    duplicates: Record<string, number>;
    /** Sends one packet at its QoS (lib/client.js); a QoS 0 packet goes on to `deliver0`. */
    deliverQoS: (packet: DeliveredPacket, cb: () => void) => void;
    deliver0: (packet: DeliveredPacket, cb: () => void) => void;
  }
}
