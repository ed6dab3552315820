/** The dataset layer's near-duplicate side: MinHash signatures, LSH buckets, findings, diversity (docs/datasets.md). */
export * from './minhash';
export * from './nearDuplicates';
