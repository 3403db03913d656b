import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { dockerFromEnv, skipNotice, TEST_IMAGE } from '../helpers/docker.ts'

const docker = dockerFromEnv()
if (docker == null) {
  skipNotice('test/docker/smoke.test.ts')
} else {
  const name = `souk-smoke-${process.pid}`

  test('the Docker engine answers and the local busybox image is present', async () => {
    await docker.ping()
    const img = await docker.getImage(TEST_IMAGE).inspect()
    assert.ok(img.Id.startsWith('sha256:'))
  })

  test('create, start, inspect and remove a container from the busybox image', async () => {
    const c = await docker.createContainer({
      name,
      Image: TEST_IMAGE,
      Cmd: ['sh', '-c', 'echo souk-smoke-ok; sleep 30'],
      Labels: { 'souk.test': 'smoke' },
      HostConfig: { Memory: 64 * 1024 * 1024, NanoCpus: 250_000_000, PidsLimit: 64, CapDrop: ['ALL'] }
    })
    try {
      await c.start()
      const info = await c.inspect()
      assert.is(info.State.Running, true)
      assert.is(info.HostConfig.Memory, 64 * 1024 * 1024)
      assert.is(info.HostConfig.PidsLimit, 64)
      assert.is(info.Config.Labels['souk.test'], 'smoke')
      // the container's own output, through the engine
      let logs = ''
      for (let i = 0; i < 50 && !logs.includes('souk-smoke-ok'); i++) {
        logs = (await c.logs({ stdout: true, stderr: true })).toString()
        if (!logs.includes('souk-smoke-ok')) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      assert.match(logs, /souk-smoke-ok/)
    } finally {
      await c.remove({ force: true })
    }
    const left = await docker.listContainers({ all: true, filters: { name: [name] } })
    assert.is(left.length, 0)
  })

  test.run()
}
