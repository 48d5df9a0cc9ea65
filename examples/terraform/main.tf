# The Java application-server example (examples/java-appserver/infra.ts) as a Terraform configuration:
# image variants for heavy, moderate and light use, two instance groups on a cluster of four hosts, a
# shared multi-attach volume for common data and a data volume per group. README: Terraform.
terraform {
  required_providers {
    virtform = { source = "virtform/virtform" }
  }
}

# The embedded emulator in ./.virtform/emulator; or endpoint and token of a served one.
provider "virtform" {}

resource "virtform_storage_pool" "fast" {
  media      = "ssd"
  devices    = [{ size_gib = 1024 }, { size_gib = 1024 }]
  overcommit = 2
}

resource "virtform_image" "appserver" {
  # The package sets locked by `virtform images lock` for the native program (virtform.lock here is
  # that lock), under the address the native program gives this image.
  lock_key = "image.appserver"
  base     = "debian-12"
  packages = ["openjdk-17-jre-headless", "tomcat10"]
  config   = { threadPool = 50 }
  variants = {
    light    = { config = { heapMiB = 512, threadPool = 25 } }
    moderate = { config = { heapMiB = 2048 } }
    heavy    = { config = { heapMiB = 8192, threadPool = 200 }, packages = ["prometheus-node-exporter"] }
  }
}

resource "virtform_cluster" "web" {
  hypervisor = "native"
  hosts      = { count = 4, vcpu = 32, memory_gib = 256, local_disk_gib = 2000 }
  overcommit = { cpu = 2 }
}

resource "virtform_instance" "storefront" {
  count   = 3
  cluster = virtform_cluster.web.id
  group   = "storefront"
  index   = count.index
  image = {
    image   = virtform_image.appserver.id
    variant = "heavy"
    digest  = virtform_image.appserver.variants_output["heavy"].digest
  }
  vcpu           = 8
  memory_gib     = 16
  local_disk_gib = 40
  # One storefront per host: losing a host takes one storefront down, not all of them.
  placement = { anti_affinity_group = "storefront" }
}

resource "virtform_instance" "backoffice" {
  count   = 2
  cluster = virtform_cluster.web.id
  group   = "backoffice"
  index   = count.index
  image = {
    image   = virtform_image.appserver.id
    variant = "light"
    digest  = virtform_image.appserver.variants_output["light"].digest
  }
  vcpu           = 2
  memory_gib     = 4
  local_disk_gib = 20
}

resource "virtform_volume" "shared_data" {
  pool         = virtform_storage_pool.fast.id
  size_gib     = 200
  multi_attach = true
}

resource "virtform_attachment" "shared_storefront" {
  count    = length(virtform_instance.storefront)
  volume   = virtform_volume.shared_data.id
  instance = virtform_instance.storefront[count.index].id
  mode     = "read-write"
}

resource "virtform_attachment" "shared_backoffice" {
  count    = length(virtform_instance.backoffice)
  volume   = virtform_volume.shared_data.id
  instance = virtform_instance.backoffice[count.index].id
  mode     = "read-only"
}

resource "virtform_volume" "storefront_data" {
  pool         = virtform_storage_pool.fast.id
  size_gib     = 500
  multi_attach = true
}

resource "virtform_attachment" "storefront_data" {
  count    = length(virtform_instance.storefront)
  volume   = virtform_volume.storefront_data.id
  instance = virtform_instance.storefront[count.index].id
}

resource "virtform_volume" "backoffice_data" {
  pool         = virtform_storage_pool.fast.id
  size_gib     = 100
  multi_attach = true
}

resource "virtform_attachment" "backoffice_data" {
  count    = length(virtform_instance.backoffice)
  volume   = virtform_volume.backoffice_data.id
  instance = virtform_instance.backoffice[count.index].id
}

output "shared_volume_id" {
  value = virtform_volume.shared_data.id
}

output "cluster_id" {
  value = virtform_cluster.web.id
}
