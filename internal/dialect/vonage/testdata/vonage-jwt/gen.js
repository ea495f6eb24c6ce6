const fs = require('fs');
const { tokenGenerate } = require('@vonage/jwt');
const { Auth } = require('@vonage/auth');
const key = fs.readFileSync('app.key');
const appId = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const out = {
  application_id: appId,
  library: '@vonage/jwt ' + JSON.parse(fs.readFileSync('node_modules/@vonage/jwt/package.json')).version + ', @vonage/auth ' + JSON.parse(fs.readFileSync('node_modules/@vonage/auth/package.json')).version,
  tokens: {
    default: tokenGenerate(appId, key),
    sub_acl_ttl: tokenGenerate(appId, key, { subject: 'alice', acl: { paths: { '/*/users/**': {}, '/*/conversations/**': {} } }, ttl: 300 }),
  },
};
new Auth({ applicationId: appId, privateKey: key }).createBearerHeader().then((h) => {
  out.tokens.auth_bearer_header = h.replace(/^Bearer /, '');
  fs.writeFileSync('out.json', JSON.stringify(out, null, 2) + '\n');
});
