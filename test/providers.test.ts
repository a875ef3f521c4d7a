import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readableReason, resolveProviders } from '../extension/engine/providers';

describe('execution providers', () => {
  it('tries the CPU last, and picks the CPU alone for small models on auto', () => {
    assert.deepEqual(resolveProviders('auto', 14e6), ['cpu']);
    assert.deepEqual(resolveProviders('auto', 2e9), ['cuda', 'webgpu', 'cpu']);
    assert.deepEqual(resolveProviders(['webgpu'], 14e6), ['webgpu', 'cpu']);
  });

  it('turns onnxruntime\'s messages into reasons a user can read', () => {
    // what onnxruntime-node 1.30 throws when Dawn finds no Vulkan driver (seen on this machine)
    const webgpu = '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize('
      + 'const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. '
      + 'Failed to get a WebGPU adapter: No supported adapters\nStacktrace:\n…';
    assert.equal(readableReason(webgpu), 'Failed to get a WebGPU adapter: No supported adapters');
    assert.equal(readableReason('[ONNXRuntimeError] : 1 : FAIL : Load model from /m/model.onnx failed:Protobuf parsing failed.'),
      'Load model from /m/model.onnx failed:Protobuf parsing failed.');
    assert.equal(readableReason('/onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1862 onnxruntime::ProviderLibrary::Get() '
      + '[ONNXRuntimeError] : 1 : FAIL : Failed to load libonnxruntime_providers_cuda.so'), 'Failed to load libonnxruntime_providers_cuda.so');
    const long = `backend error: ${'word '.repeat(100)}end`;
    const cut = readableReason(long);
    assert.ok(cut.length <= 241 && cut.endsWith('…'), cut);
    assert.match(cut, /word…$/, 'cut after a whole word');
  });
});
