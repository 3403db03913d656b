// A runtime call bounded in time: Docker's and Kubernetes' clients both race each API call
// against a timer, and the timer must go when the call settles, or every call would keep the
// process alive for the whole timeout.

/** `p`'s outcome, or a rejection with `onTimeout()` when `ms` pass first; the timer is cleared either way */
export async function withTimeout<T> (p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(onTimeout()) }, ms) })])
  } finally {
    clearTimeout(timer)
  }
}
