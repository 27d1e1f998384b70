/** The official ONNX checker, through Debian's python3-onnx (system suite only). */
import { execFileSync } from 'node:child_process';

/** Debian's interpreter (python3-onnx installs into its dist-packages). */
export const PYTHON = '/usr/bin/python3';

/** What Python's onnx says about one file. */
export interface CheckerVerdict {
  /** onnx.checker.check_model(model, full_check=True) passed. */
  ok: boolean;
  /** First line of the checker's error when it failed. */
  error?: string;
  irVersion: number;
  /** [(domain, version)] of opset_import. */
  opsets: Array<[string, number]>;
  /** metadata_props as Python's onnx reads them. */
  props: Record<string, string>;
}

const SCRIPT = `
import json, sys, onnx
out = {}
for path in sys.argv[1:]:
    m = onnx.load(path)
    v = {"ok": True, "irVersion": m.ir_version, "opsets": [[o.domain, o.version] for o in m.opset_import],
         "props": {p.key: p.value for p in m.metadata_props}}
    try:
        onnx.checker.check_model(m, full_check=True)
    except Exception as e:
        v["ok"] = False
        v["error"] = (str(e).strip().splitlines() or [type(e).__name__])[0]
    out[path] = v
print(json.dumps(out))
`;

/** Run onnx.checker (full_check) on every file in one Python process. */
export function onnxChecker(files: string[]): Record<string, CheckerVerdict> {
  const stdout = execFileSync(PYTHON, ['-c', SCRIPT, ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout);
}
