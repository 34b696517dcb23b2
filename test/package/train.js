// 20 Adam steps of mnist-mlp-student on a fixed synthetic batch, through the public API only.
// Shared by the Node script and the browser page of the package test (test/package.test.ts).
export async function train20(kd) {
  const info = await kd.init();
  const model = kd.nn.buildModel('mnist-mlp-student', { seed: 0 });
  const opt = new kd.nn.Adam(model.parameters(), { lr: 1e-3 });
  const x = kd.randn([64, 784], { seed: 1 });
  const labels = Int32Array.from({ length: 64 }, (_, i) => (i * 7) % 10);
  const losses = [];
  for (let step = 0; step < 20; step++) {
    opt.zeroGrad();
    const loss = kd.tidy(() => kd.softmaxCrossEntropy(model.call(x), labels));
    loss.backward();
    opt.step();
    losses.push(await loss.item());
    loss.dispose();
  }
  return { adapter: info.adapter.description, losses };
}
