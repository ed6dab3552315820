export * from './templates';
export * from './series';
export * from './top';
