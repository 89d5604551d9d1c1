// The text of a start-up snapshot's CommonJS bundle (scripts/bundle.mjs), made smaller to deserialize.

/**
 * esbuild's CommonJS output imports a built-in or a CommonJS module through __toESM at every import site: a new
 * object with a getter (a closure and its context) per property of the module, made at each of them. `import fs
 * from 'node:fs'` in 59 modules made 59 copies of fs's 104 getters, all evaluated into the blob (~2 ms of every
 * call's deserialization). One object per module serves every site (an ES module's namespace is one object too):
 * __toESM is wrapped, right after its definition, to keep the first one it makes for each module.
 */
export function oneNamespacePerModule(text, script) {
  if (!text.includes('__toESM(')) return text;
  const helper = /var __toESM=\(mod,isNodeMode,target\)=>[^;]*;/.exec(text);
  if (!helper) throw new Error(`${script}: esbuild's __toESM helper is not where bundle.mjs expects it (a new esbuild?)`);
  const at = helper.index + helper[0].length;
  const memo =
    '__toESM=((made,seen)=>(mod,isNodeMode)=>{if(mod===null||typeof mod!="object"&&typeof mod!="function")return made(mod,isNodeMode);' +
    'let e=seen.get(mod);e||seen.set(mod,e=[]);return e[isNodeMode?1:0]??=made(mod,isNodeMode)})(__toESM,new WeakMap);';
  return text.slice(0, at) + memo + text.slice(at);
}
