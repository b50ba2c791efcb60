/**
 * An ONNX model's `metadata_props` read straight from the protobuf bytes, without decoding the
 * graph: a ModelProto's top-level fields are scanned, the graph (tens of MB of weights) is skipped
 * by its length, and only the StringStringEntryProto messages of field 14 are read. Decoding the
 * whole model with protobufjs cost ~0.3 s and its ~30 ms import for an 85 MB model folder — on
 * every `predict` — for a few hundred bytes of metadata.
 *
 * Wire format (protobuf encoding spec): each field is a varint key (field number << 3 | wire type)
 * then a value: wire type 0 a varint, 1 eight bytes, 2 a varint length and that many bytes, 5 four
 * bytes. ModelProto.metadata_props = 14 (repeated, length-delimited); in StringStringEntryProto
 * key = 1 and value = 2, both strings.
 */

const METADATA_PROPS = 14;

class Reader {
  offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.offset >= this.bytes.length) throw new RangeError('truncated varint');
      const byte = this.bytes[this.offset++] as number;
      // Lengths and keys fit in 53 bits; multiplication keeps them exact past 2^31.
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new RangeError('varint longer than 10 bytes');
    }
  }

  bytesOf(length: number): Uint8Array {
    const end = this.offset + length;
    if (end > this.bytes.length) throw new RangeError('field runs past the end of the message');
    const out = this.bytes.subarray(this.offset, end);
    this.offset = end;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.bytesOf(8);
    else if (wireType === 2) this.bytesOf(this.varint());
    else if (wireType === 5) this.bytesOf(4);
    else throw new RangeError(`unsupported protobuf wire type ${wireType}`);
  }
}

/** Fields of one message, as (field number, wire type, reader positioned at the value). */
function* fields(bytes: Uint8Array): Generator<[number, number, Reader]> {
  const reader = new Reader(bytes);
  while (!reader.done) {
    const key = reader.varint();
    yield [Math.floor(key / 8), key % 8, reader];
  }
}

const text = new TextDecoder('utf-8', { fatal: true });

export function readOnnxMetadata(model: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, wireType, reader] of fields(model)) {
    if (field !== METADATA_PROPS || wireType !== 2) {
      reader.skip(wireType);
      continue;
    }
    let key: string | undefined;
    let value = '';
    for (const [entryField, entryType, entry] of fields(reader.bytesOf(reader.varint()))) {
      if (entryType === 2 && (entryField === 1 || entryField === 2)) {
        const s = text.decode(entry.bytesOf(entry.varint()));
        if (entryField === 1) key = s;
        else value = s;
      } else entry.skip(entryType);
    }
    if (key !== undefined) out[key] = value;
  }
  return out;
}
