// Module hooks for loaded-modules-probe.ts: runs on the loader thread and reports every resolved module URL.
let port

export function initialize (data) {
  port = data.port
}

export async function resolve (specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context)
  port.postMessage(result.url)
  return result
}
