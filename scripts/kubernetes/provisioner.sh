#!/usr/bin/env bash
# Node-local volumes for the StorageClass $STORAGECLASS (copied into WORKDIR by scripts/kubernetes/start.ts).
# A polling loop that lives as long as the cluster: bash keeps it a few MiB (storage.ts tells what it does).
# Env (set by start.ts): KUBECTL KUBECONFIG STORAGECLASS PROVISIONER NODE VOLUMES.
set -uo pipefail
kubectl() { "$KUBECTL" --kubeconfig "$KUBECONFIG" --request-timeout=10s "$@"; }
while sleep 1; do
  # Claims the scheduler placed on this node and that have no volume yet.
  kubectl get pvc -A -o jsonpath='{range .items[*]}{.spec.storageClassName}{"|"}{.status.phase}{"|"}{.metadata.namespace}{"|"}{.metadata.name}{"|"}{.metadata.uid}{"|"}{.spec.resources.requests.storage}{"|"}{.metadata.annotations.volume\.kubernetes\.io/selected-node}{"|"}{.spec.volumeName}{"|"}{.spec.accessModes}{"|"}{.spec.volumeMode}{"\n"}{end}' 2>/dev/null |
    while IFS='|' read -r class phase ns name uid size selected volume modes vmode; do
      [[ $class == "$STORAGECLASS" && $phase == Pending && $selected == "$NODE" && -z $volume ]] || continue
      [[ ${vmode:-Filesystem} == Filesystem ]] || continue # a folder cannot be a block device
      pv=pvc-$uid
      [[ -d $VOLUMES/$pv ]] && continue
      mkdir -m 0777 "$VOLUMES/$pv" && chmod 0777 "$VOLUMES/$pv"
      if kubectl create -f - >/dev/null <<PV; then echo "$(date -Is) made $pv for $ns/$name ($size)"; else rmdir "$VOLUMES/$pv"; fi
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $pv
  annotations:
    pv.kubernetes.io/provisioned-by: $PROVISIONER
spec:
  capacity:
    storage: $size
  accessModes: ${modes:-[ReadWriteOnce]}
  persistentVolumeReclaimPolicy: Delete
  storageClassName: $STORAGECLASS
  volumeMode: Filesystem
  claimRef:
    namespace: $ns
    name: $name
    uid: $uid
  local:
    path: $VOLUMES/$pv
  nodeAffinity:
    required:
      nodeSelectorTerms:
        - matchExpressions:
            - key: kubernetes.io/hostname
              operator: In
              values: [$NODE]
PV
    done
  # Volumes whose claim is gone.
  kubectl get pv -o jsonpath='{range .items[*]}{.metadata.name}{"|"}{.status.phase}{"|"}{.metadata.annotations.pv\.kubernetes\.io/provisioned-by}{"\n"}{end}' 2>/dev/null |
    while IFS='|' read -r pv phase by; do
      [[ $by == "$PROVISIONER" && ($phase == Released || $phase == Failed) ]] || continue
      rm -rf "${VOLUMES:?}/$pv" && kubectl delete pv "$pv" --wait=false >/dev/null && echo "$(date -Is) removed $pv"
    done
done
