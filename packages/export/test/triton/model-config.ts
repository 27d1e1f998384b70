/**
 * Triton's model configuration schema for the tests: the vendored `model_config.proto` is read
 * with protobufjs (`protobuf.parse`), turned into a FileDescriptorSet (protobufjs's descriptor
 * extension) and loaded into a @bufbuild/protobuf registry, whose text-format parser
 * (`@bufbuild/protobuf/txtpb`) checks a `config.pbtxt` against the `inference.ModelConfig`
 * message: unknown fields, unknown enum values, wrong scalar types, repeated singular fields
 * and syntax errors all throw.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFileRegistry, type DescMessage, fromBinary, type JsonObject, toJson } from '@bufbuild/protobuf';
import { fromText } from '@bufbuild/protobuf/txtpb';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';

interface DescriptorMessage {
  name: string;
  field: Array<{ typeName?: string }>;
  nestedType: DescriptorMessage[];
  options?: { mapEntry?: boolean };
}

/**
 * protobufjs writes message type names relative to their scope ('GraphSpec.Shape'); the
 * registry wants them fully qualified ('.inference.….GraphSpec.Shape'): resolve each with
 * protobufjs's own lookup from the enclosing message (map entries are nested types of it).
 */
function qualify(messages: DescriptorMessage[], scope: protobuf.Namespace): void {
  for (const m of messages) {
    const own = scope.get(m.name);
    const inner = own instanceof protobuf.Type ? own : scope;
    for (const f of m.field) {
      if (!f.typeName || f.typeName.startsWith('.')) continue;
      if (m.nestedType.some((n) => n.name === f.typeName && n.options?.mapEntry)) {
        f.typeName = `${inner.fullName}.${f.typeName}`;
        continue;
      }
      const target = inner.lookup(f.typeName);
      if (!target) throw new Error(`model_config.proto: cannot resolve ${f.typeName} in ${m.name}`);
      f.typeName = target.fullName;
    }
    qualify(m.nestedType, inner);
  }
}

let modelConfig: DescMessage | undefined;

/** The `inference.ModelConfig` descriptor of the vendored schema (built once). */
export function modelConfigSchema(): DescMessage {
  if (modelConfig) return modelConfig;
  const path = join(__dirname, '..', '..', 'vendor', 'triton', 'model_config.proto');
  const root = protobuf.parse(readFileSync(path, 'utf8'), { keepCase: true }).root;
  root.resolveAll();
  const set = (root as unknown as { toDescriptor(syntax: string): protobuf.Message }).toDescriptor('proto3');
  const bytes = (descriptor as unknown as { FileDescriptorSet: protobuf.Type }).FileDescriptorSet.encode(set).finish();
  const fds = fromBinary(FileDescriptorSetSchema, bytes);
  for (const file of fds.file) qualify(file.messageType as unknown as DescriptorMessage[], root.lookup(file.package) as protobuf.Namespace);
  modelConfig = createFileRegistry(fds).getMessage('inference.ModelConfig');
  if (!modelConfig) throw new Error('model_config.proto has no inference.ModelConfig');
  return modelConfig;
}

/** Parse a `config.pbtxt` against the schema (throws on anything it does not allow): proto field names, enum names, defaults included. */
export function parseModelConfig(text: string): JsonObject {
  const schema = modelConfigSchema();
  return toJson(schema, fromText(schema, text), { useProtoFieldName: true, alwaysEmitImplicit: true }) as JsonObject;
}
