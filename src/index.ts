// sgas-webgpu as a library (package entry "."), for Node: the engine, the data loaders, the
// genotypes, the evaluation network and the ways a trained one leaves (ONNX, .sgas). The inference
// API alone, for pages and apps that only predict, is the "./infer" entry (src/infer/index.ts).
// search() and train() take the options object that `sgas search`/`sgas train` make of their flags
// and that a sweep's workers run.

export * from '../runtime/index.ts';
export { Module } from '../runtime/module.ts';

export { loadDataset, embeddedDataDir } from './data/load.ts';
export { embeddedDataset, embeddedFiles, type Gunzip } from './data/embedded.ts';
export { fashionMnistDataset } from './data/idx.ts';
export { cifar10Dataset } from './data/cifar.ts';
export { CIFAR10_STATS, DatasetFileError, FASHION_MNIST_STATS, type ChannelStats, type Dataset, type Split } from './data/dataset.ts';

export { genotypeFromGenes, genotypeToJson, genotypeToPython, parseGenotype, type Gene, type Genotype } from './search/genotype.ts';
export { genotypeByName, PUBLISHED_GENOTYPES } from './search/genotypes.ts';
export { PRIMITIVES, type OpName } from './search/space.ts';

export { EvalNetwork, type EvalNetworkConfig } from './eval/model.ts';
export { trainedModelFromCheckpoint } from './eval/train.ts';
export { decodeModelFile, encodeModelFile, type TrainedModel } from './eval/modelFile.ts';
export type { DataInfo, SplitRule } from './data/dataInfo.ts';
export { exportOnnx } from './export/onnx.ts';

export { search, type SearchHooks, type SearchOutcome } from './jobs/search.ts';
export { train, type TrainHooks, type TrainOutcome, type TrainReport } from './jobs/train.ts';
export type { DataOptions, SearchOptions, TrainOptions } from './jobs/options.ts';
export { RunStoppedError, type RunHooks } from './jobs/runLoop.ts';
export * from './infer/index.ts';
