export * from './templates';
export * from './templateList';
export * from './series';
export * from './top';
export * from './templateTest';
export * from './reviewAgreement';
export * from './runReasons';
