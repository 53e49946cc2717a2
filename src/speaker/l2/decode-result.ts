/**
 * What every decoder in this folder returns: the value, or a one-line reason the bytes were
 * rejected. Decoders never throw, because their input comes from the network.
 */
export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: string };

export const decoded = <T>(value: T): DecodeResult<T> => ({ ok: true, value });

export const rejected = <T>(error: string): DecodeResult<T> => ({ ok: false, error });
