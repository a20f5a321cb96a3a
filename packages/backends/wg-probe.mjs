try { process.dlopen({ exports: {} }, '/usr/lib/chromium/libvulkan.so.1'); } catch (e) { console.log('dlopen:', e.message.slice(0, 100)); }
process.env.VK_ICD_FILENAMES = '/usr/lib/chromium/vk_swiftshader_icd.json';
const { create, globals } = await import('webgpu');
const gpu = create([]);
const ad = await gpu.requestAdapter();
console.log(ad ? JSON.stringify({ ...ad.info, fb: ad.isFallbackAdapter, f: [...ad.features] }) : null);
process.exit(0);
