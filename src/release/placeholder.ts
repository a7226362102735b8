// The certificate the stack serves until certbot has obtained a real one: recognised by the HTTPS check.
export const PLACEHOLDER_CERT_CN = 'commento-deploy placeholder'
