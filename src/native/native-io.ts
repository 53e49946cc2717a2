import { loadAddon, type NativeAddon } from './addon.js';
import { readInterface } from './interfaces.js';
import { NativeIcmp6Socket, NativePacketSocket, NativeUdpTtlSocket } from './native-sockets.js';
import { NativeTcpListener, tcpConnect } from './native-tcp.js';
import type { NetworkIo } from './types.js';

/** The real NetworkIo. The addon is loaded on first use, so importing this needs no build. */
export function nativeNetworkIo(addon: () => NativeAddon = () => loadAddon()): NetworkIo {
  return {
    interfaceInfo: (name) => readInterface(name),
    openPacket: (options, handlers) => new NativePacketSocket(options, handlers, addon()),
    openIcmp6: (options, handlers) => new NativeIcmp6Socket(options, handlers, addon()),
    openUdp: (options, handlers) => new NativeUdpTtlSocket(options, handlers, addon()),
    tcpConnect: async (options) => tcpConnect(options, addon()),
    tcpListen: (options, handlers) => new NativeTcpListener(options, handlers, addon()),
  };
}
