import { describeAdapterMethod, zeroParams } from '@adapterkit/testkit';
import { plugins as unionPlugins } from '@adapterkit/union';
import { plugins } from './index';

describeAdapterMethod(plugins, {
  configs: [
    'loreft[prefix_positions=2,suffix_positions=1,r=2,dropout=0.0]',
    'noreft[prefix_positions=1,suffix_positions=2,r=1,tied_weights=True]',
    { config: { method: 'reft', orthogonality: false, subtractProjection: false, prefixPositions: 2, suffixPositions: 2, r: 2, layers: [1] }, label: 'direft on layer 1 (object)' },
  ],
  // The zero state of an intervention: a zero learned source and a zero R (`h + (0 − 0)·0 = h`); a zero `original`
  // has a zero diagonal, which the householder map truncates to a zero R.
  zeroInit: zeroParams(/learned_source\.(weight|bias)$|projection\.weight$|parametrizations\.weight\.original$/),
  exclude: {
    training:
      "the check trains the second adapter of Stack(other, adapter), and as in adapters 1.1 only the first adapter of a setup intervenes (ReftLayer uses setup.first()); training alone is checked in reft.test.ts",
  },
  extraPlugins: unionPlugins,
});
