import { GPU_MODELS, gpuModelOfProductName } from './gpu-catalogue';

describe('gpuModelOfProductName: a driver product name onto the catalogue', () => {
  it.each([
    ['NVIDIA H200', 'H200'], // as nvidia-smi prints it on the H200 host (../shared/data/gpu)
    ['NVIDIA H100 80GB HBM3', 'H100'],
    ['NVIDIA H100 PCIe', 'H100'],
    ['NVIDIA A100-SXM4-80GB', 'A100'],
    ['NVIDIA A100 80GB PCIe', 'A100'],
    ['NVIDIA A10', 'A10'],
    ['NVIDIA A40', 'A40'],
    ['NVIDIA L40S', 'L40S'],
    ['Tesla V100-SXM2-32GB', 'V100M32'],
    ['Tesla V100-PCIE-16GB', 'V100M16'],
    ['Tesla P100-PCIE-16GB', 'P100'],
    ['Tesla T4', 'T4'],
    ['NVIDIA RTX 6000 Ada Generation', 'RTX6000-Ada'],
    ['NVIDIA RTX A6000', 'RTXA6000'],
    ['NVIDIA GeForce RTX 4090', 'RTX4090'],
    ['NVIDIA GeForce RTX 3060', 'RTX3060'],
  ])('%s is %s', (name, model) => {
    expect(gpuModelOfProductName(name)).toBe(model);
    expect(GPU_MODELS[model]).toBeDefined();
  });

  it.each(['NVIDIA GH200 480GB', 'NVIDIA A10G', 'NVIDIA L4', 'NVIDIA B200', 'AMD Instinct MI300X', ''])('%s is not in the catalogue', (name) => {
    expect(gpuModelOfProductName(name)).toBeUndefined();
  });
});
