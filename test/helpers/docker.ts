// Tests that need Docker find it through DOCKER_HOST. Without it they are skipped locally,
// but in CI (CI=true) a missing engine is a failure, never a silent skip.
import type Docker from 'dockerode'
import { dockerClient } from '../../src/runtime/index.ts'

export const TEST_IMAGE = process.env.SOUK_TEST_IMAGE ?? 'souk/busybox:latest'

export function dockerFromEnv (): Docker | null {
  const host = process.env.DOCKER_HOST
  if (host == null || host === '') {
    if (process.env.CI === 'true') throw new Error('CI=true but DOCKER_HOST is not set: the Docker-backed tests cannot run')
    return null
  }
  return dockerClient(host)
}

/** Prints the skip notice that the test runner counts. */
export function skipNotice (file: string): void {
  process.stdout.write(`skipped ${file}: DOCKER_HOST is not set (Docker-backed tests need a Docker engine)\n  Total:     1\n  Passed:    0\n  Skipped:   1\n`)
}
