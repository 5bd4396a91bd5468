// Optimizer updates, in place, with PyTorch's semantics (torch.optim.SGD / Adam, clip_grad_norm_).
struct Params { n: u32, first: u32, lr: f32, momentum: f32, weight_decay: f32, beta1: f32, beta2: f32, eps: f32, bc1: f32, bc2_sqrt: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read_write> state1: array<f32>;
@group(0) @binding(4) var<storage, read_write> state2: array<f32>;

const WG = 64u;

// SGD, dampening 0: d = g + wd * w; buf = momentum * buf + d (buf = d on the first step); w -= lr * buf.
@compute @workgroup_size(WG) fn sgd(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i >= p.n) { return; }
  let d = grad[i] + p.weight_decay * param[i];
  var step = d;
  if (p.momentum != 0.0) {
    step = select(p.momentum * state1[i] + d, d, p.first != 0u);
    state1[i] = step;
  }
  param[i] = param[i] - p.lr * step;
}

// Adam with L2 weight decay added to the gradient (not decoupled), as torch.optim.Adam.
@compute @workgroup_size(WG) fn adam(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i >= p.n) { return; }
  let g = grad[i] + p.weight_decay * param[i];
  let m = p.beta1 * state1[i] + (1.0 - p.beta1) * g;
  let v = p.beta2 * state2[i] + (1.0 - p.beta2) * g * g;
  state1[i] = m;
  state2[i] = v;
  let denom = sqrt(v) / p.bc2_sqrt + p.eps;
  param[i] = param[i] - (p.lr / p.bc1) * m / denom;
}
