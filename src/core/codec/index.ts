export * from './constants.js';
export * from './errors.js';
export * from './types.js';
export { encode } from './encode.js';
export { Parser, type ParserOptions } from './parser.js';
export { PROPERTIES, propertyByName, type PropertyInfo, type PropertyType } from './properties.js';
