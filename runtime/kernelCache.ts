// Compiles each "family/entry" once into a compute pipeline with an explicit layout:
// binding 0 = Params uniform, then the inputs (read-only storage), then the outputs.
import { GpuError } from './errors.ts';
import { constantIn, shaderSource } from './shaders.ts';

export interface CompiledKernel {
  name: string;
  pipeline: GPUComputePipeline;
  bindGroupLayout: GPUBindGroupLayout;
  workgroup: [number, number, number];
}

/** Reads `@workgroup_size(...)` of an entry point; constants declared as `const X = 64u;` are resolved. */
export function workgroupSize(source: string, entry: string): [number, number, number] {
  const match = new RegExp(`@workgroup_size\\(([^)]*)\\)\\s*fn\\s+${entry}\\s*\\(`).exec(source);
  if (!match) throw new GpuError(`kernel entry '${entry}' not found (or has no @workgroup_size) in its shader`);
  const dims = match[1]!.split(',').map((token) => {
    const t = token.trim();
    const literal = /^(\d+)u?$/.exec(t);
    if (literal) return Number(literal[1]);
    const constant = constantIn(source, t);
    if (constant === null) throw new GpuError(`kernel entry '${entry}': cannot resolve workgroup size '${t}'`);
    return constant;
  });
  return [dims[0] ?? 1, dims[1] ?? 1, dims[2] ?? 1];
}

export class KernelCache {
  private readonly kernels = new Map<string, CompiledKernel>();
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly layouts = new Map<string, { pipelineLayout: GPUPipelineLayout; bindGroupLayout: GPUBindGroupLayout }>();

  constructor(
    private readonly device: GPUDevice,
    /** Receives the promise of every asynchronous compile or validation check. */
    private readonly report: (check: Promise<GpuError | null>) => void,
  ) {}

  get(name: string, inputs: number, outputs: number): CompiledKernel {
    const key = `${name}:${inputs}:${outputs}`;
    const cached = this.kernels.get(key);
    if (cached) return cached;
    const [family, entry] = name.split('/') as [string, string];
    const source = shaderSource(family);
    const workgroup = workgroupSize(source, entry);
    this.device.pushErrorScope('validation');
    const module = this.module(family, source);
    const { pipelineLayout, bindGroupLayout } = this.layout(inputs, outputs);
    const pipeline = this.device.createComputePipeline({
      label: name,
      layout: pipelineLayout,
      compute: { module, entryPoint: entry },
    });
    this.report(
      this.device.popErrorScope().then((e) => (e ? new GpuError(`kernel ${name} (shaders/${family}.wgsl): ${e.message}`) : null)),
    );
    const kernel = { name, pipeline, bindGroupLayout, workgroup };
    this.kernels.set(key, kernel);
    return kernel;
  }

  private module(family: string, source: string): GPUShaderModule {
    let module = this.modules.get(family);
    if (module) return module;
    module = this.device.createShaderModule({ label: family, code: source });
    this.modules.set(family, module);
    this.report(
      module.getCompilationInfo().then((info) => {
        const errors = info.messages.filter((m) => m.type === 'error');
        if (!errors.length) return null;
        const where = errors.map((m) => `line ${m.lineNum}:${m.linePos}: ${m.message}`).join('; ');
        return new GpuError(`kernel family ${family} (shaders/${family}.wgsl): WGSL compile error at ${where}`);
      }),
    );
    return module;
  }

  private layout(inputs: number, outputs: number): { pipelineLayout: GPUPipelineLayout; bindGroupLayout: GPUBindGroupLayout } {
    const key = `${inputs}:${outputs}`;
    let layout = this.layouts.get(key);
    if (layout) return layout;
    const entries: GPUBindGroupLayoutEntry[] = [
      { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
    ];
    for (let i = 0; i < inputs + outputs; i++) {
      entries.push({
        binding: i + 1,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: i < inputs ? 'read-only-storage' : 'storage' },
      });
    }
    const bindGroupLayout = this.device.createBindGroupLayout({ entries });
    layout = { pipelineLayout: this.device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout] }), bindGroupLayout };
    this.layouts.set(key, layout);
    return layout;
  }
}
