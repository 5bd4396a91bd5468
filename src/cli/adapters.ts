// `sgas adapters [--json]`: every WebGPU adapter this machine reaches, numbered as --adapter takes
// them, with what the runtime relies on (limits, features) and which one auto takes.
import { adapterName, chooseAdapter, listAdapters, type AdapterSummary } from '../../runtime/index.ts';
import { parseFlags } from './args.ts';

export const ADAPTERS_HELP = `usage: sgas adapters [--json]

Lists every WebGPU adapter reachable here (all of Dawn's backends: Vulkan, OpenGL ES, Metal, D3D12),
numbered as --adapter INDEX takes them; --adapter TEXT matches a case-insensitive part of the
backend, vendor, architecture or description (--adapter swiftshader, --adapter llvmpipe).
`;

const size = (v: number) => (v >= 2 ** 30 && v % 2 ** 20 === 0 ? `${v / 2 ** 30} GiB` : v >= 2 ** 20 && v % 2 ** 20 === 0 ? `${v / 2 ** 20} MiB` : String(v));

export function describeAdapter(a: AdapterSummary): string[] {
  const limits = Object.entries(a.limits).map(([name, v]) => `${name} ${/Size$/.test(name) ? size(v) : v}`);
  return [
    `[${a.index}] ${adapterName(a)}`,
    `    backend ${a.backend}, vendor '${a.vendor}', architecture '${a.architecture}', device '${a.device}', description '${a.description}'`,
    `    type ${a.type}${a.fallback ? ' (fallback adapter)' : ''}, ${a.featureLevel === 'core' ? 'core WebGPU' : 'WebGPU compatibility mode only'}`,
    `    limits: ${limits.join(', ')}`,
    `    features: ${a.features.join(', ') || 'none'}`,
  ];
}

export async function adaptersCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('adapters', argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(ADAPTERS_HELP);
    return 0;
  }
  const adapters = await listAdapters();
  if (values.json) {
    process.stdout.write(JSON.stringify(adapters, null, 2) + '\n');
    return adapters.length ? 0 : 1;
  }
  if (!adapters.length) {
    process.stdout.write('no WebGPU adapter found (sgas runs on WebAssembly); scripts/setup.sh installs SwiftShader and Mesa\'s OpenGL ES\n');
    return 1;
  }
  for (const a of adapters) process.stdout.write(describeAdapter(a).join('\n') + '\n');
  const auto = chooseAdapter(adapters);
  process.stdout.write(`auto: [${auto.index}]${auto.type === 'cpu' ? ', a software adapter, so --backend auto runs on WebAssembly (--backend webgpu or --adapter uses it)' : ''}\n`);
  return 0;
}
