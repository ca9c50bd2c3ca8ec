#!/bin/bash
# Run by atmoz/sftp at start (/etc/sftp.d/): each account's public keys, deploy/sftp/keys/<account>/*.pub
# (the partner's and the platform's service key), become its authorized_keys. The accounts come from
# users.conf, generated from partners.yml; a folder without an account is skipped.
set -eu
for dir in /etc/sftp/partner-keys/*/; do
    account=$(basename "$dir")
    id "$account" >/dev/null 2>&1 || continue
    install -d -m 700 -o "$account" "/home/$account/.ssh"
    cat "$dir"*.pub > "/home/$account/.ssh/authorized_keys" 2>/dev/null || : > "/home/$account/.ssh/authorized_keys"
    chown "$account" "/home/$account/.ssh/authorized_keys"
    chmod 600 "/home/$account/.ssh/authorized_keys"
done
