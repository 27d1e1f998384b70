/**
 * A small parser of the protobuf text format, checked against a protobufjs message type: every
 * field name must exist in the message, messages must be `{ … }`, enums one of the enum's value
 * names, integers integers, floats numbers, strings quoted, bools true/false; a singular field
 * may appear once. Returns the message as a plain object (repeated fields as arrays). Used by
 * the tests to validate Triton `config.pbtxt` files against the vendored model_config.proto.
 * (npm has no maintained text-format parser; protobufjs reads .proto files and the binary and
 * JSON forms only.)
 */
import protobuf from 'protobufjs';

type Value = string | number | boolean | Message;
interface Message {
  [field: string]: Value | Value[];
}

const TOKEN = /\s*(?:#[^\n]*\n\s*)*(?:("(?:[^"\\]|\\.)*")|(-?[0-9][0-9.eE+-]*|-?inf|nan)|([A-Za-z_][A-Za-z0-9_]*)|([{}[\]:,;<>]))/y;

class Tokens {
  private pos = 0;
  private peeked: string | null = null;
  constructor(private readonly text: string) {}

  peek(): string | null {
    if (this.peeked !== null) return this.peeked;
    TOKEN.lastIndex = this.pos;
    const m = TOKEN.exec(this.text);
    if (!m) {
      if (/^\s*(#[^\n]*\s*)*$/.test(this.text.slice(this.pos))) return null;
      throw new Error(`pbtxt: unexpected text at ${this.pos}: ${JSON.stringify(this.text.slice(this.pos, this.pos + 20))}`);
    }
    this.pos = TOKEN.lastIndex;
    this.peeked = m[0].trim();
    return this.peeked;
  }

  next(): string {
    const t = this.peek();
    if (t === null) throw new Error('pbtxt: unexpected end of text');
    this.peeked = null;
    return t;
  }

  expect(token: string): void {
    const t = this.next();
    if (t !== token) throw new Error(`pbtxt: expected '${token}', got '${t}'`);
  }
}

const INTEGER_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);

function scalar(field: protobuf.Field, token: string, where: string): Value {
  const type = field.resolvedType;
  if (type instanceof protobuf.Enum) {
    if (!(token in type.values)) throw new Error(`${where}: '${token}' is not a value of enum ${type.name}`);
    return token;
  }
  if (field.type === 'string' || field.type === 'bytes') {
    if (!token.startsWith('"')) throw new Error(`${where}: expected a quoted string, got ${token}`);
    return JSON.parse(token) as string;
  }
  if (field.type === 'bool') {
    if (token !== 'true' && token !== 'false') throw new Error(`${where}: expected true or false, got ${token}`);
    return token === 'true';
  }
  const n = Number(token);
  if (Number.isNaN(n)) throw new Error(`${where}: expected a number, got ${token}`);
  if (INTEGER_TYPES.has(field.type) && !Number.isInteger(n)) throw new Error(`${where}: expected an integer, got ${token}`);
  if (field.type.startsWith('uint') && n < 0) throw new Error(`${where}: expected an unsigned integer, got ${token}`);
  return n;
}

function value(tokens: Tokens, field: protobuf.Field, where: string): Value {
  if (field.resolvedType instanceof protobuf.Type) {
    const open = tokens.next();
    if (open !== '{' && open !== '<') throw new Error(`${where}: message field needs '{', got '${open}'`);
    return message(tokens, field.resolvedType, open === '{' ? '}' : '>', where);
  }
  return scalar(field, tokens.next(), where);
}

function message(tokens: Tokens, type: protobuf.Type, close: string | null, path: string): Message {
  const out: Message = {};
  for (;;) {
    const t = tokens.peek();
    if (t === null) {
      if (close !== null) throw new Error(`${path}: missing '${close}'`);
      return out;
    }
    if (t === close) {
      tokens.next();
      return out;
    }
    const name = tokens.next();
    const field = type.fields[name];
    if (!field) throw new Error(`${path}: ${type.name} has no field '${name}'`);
    field.resolve();
    const where = `${path}.${name}`;
    if (tokens.peek() === ':') tokens.next();
    else if (!(field.resolvedType instanceof protobuf.Type)) throw new Error(`${where}: expected ':'`);
    const values: Value[] = [];
    if (tokens.peek() === '[') {
      if (!field.repeated) throw new Error(`${where}: a list for a singular field`);
      tokens.next();
      while (tokens.peek() !== ']') {
        values.push(value(tokens, field, where));
        if (tokens.peek() === ',') tokens.next();
      }
      tokens.next();
    } else values.push(value(tokens, field, where));
    if (field.repeated || field.map) out[name] = [...((out[name] as Value[] | undefined) ?? []), ...values];
    else if (name in out) throw new Error(`${where}: singular field given twice`);
    else out[name] = values[0];
    if (tokens.peek() === ',' || tokens.peek() === ';') tokens.next();
  }
}

/** Parse `text` as a `typeName` message of `root` (field names as in the .proto, checked). */
export function parseTextFormat(root: protobuf.Root, typeName: string, text: string): Message {
  const type = root.lookupType(typeName);
  return message(new Tokens(text), type, null, type.name);
}
