// The bench Worker imports the hot path as a compiled module (workerd `wasm` modules).
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
