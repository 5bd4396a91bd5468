// Appended to every kernel family (runtime/shaders.ts).

// 1D kernels may be launched on a grid folded into y when they exceed the per-dimension
// workgroup limit; this recovers the linear invocation index.
fn flat_index(gid: vec3u, groups: vec3u, wg: u32) -> u32 {
  return gid.x + gid.y * groups.x * wg;
}
