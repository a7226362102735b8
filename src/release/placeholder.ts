// The placeholder certificate nginx serves until Let's Encrypt's certificate arrives. It is made at
// container start by stack/nginx/entrypoint.sh (self-signed, EC P-256, CN and SAN = the domain,
// 14 days), with this organisation (O) as its subject and therefore its issuer. The HTTPS check uses
// it to tell "still the placeholder" (issuance pending or failing) from any other untrusted certificate.

/** The organisation (O) of the placeholder certificate's issuer and subject. */
export const PLACEHOLDER_ISSUER = 'commento-deploy placeholder'

/** True when an issuer, in any textual form (RFC 4514, OpenSSL's, Node's fields joined), is the placeholder's. */
export function isPlaceholderIssuer(issuer: string): boolean {
  return issuer.includes(PLACEHOLDER_ISSUER)
}
