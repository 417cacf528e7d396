/*M!999999\- enable the sandbox mode */ 
-- MariaDB dump 10.19  Distrib 10.5.29-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: localhost    Database: testwiki
-- ------------------------------------------------------
-- Server version	10.11.13-MariaDB-log

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;

--
-- Table structure for table `page_props`
--

DROP TABLE IF EXISTS `page_props`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `page_props` (
  `pp_page` int(10) unsigned NOT NULL,
  `pp_propname` varbinary(60) NOT NULL DEFAULT '',
  `pp_value` blob NOT NULL,
  `pp_sortkey` float DEFAULT NULL,
  PRIMARY KEY (`pp_page`,`pp_propname`),
  UNIQUE KEY `pp_propname_page` (`pp_propname`,`pp_page`),
  UNIQUE KEY `pp_propname_sortkey_page` (`pp_propname`,`pp_sortkey`,`pp_page`)
) ENGINE=InnoDB DEFAULT CHARSET=binary ROW_FORMAT=COMPRESSED;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `page_props`
--

/*!40000 ALTER TABLE `page_props` DISABLE KEYS */;
INSERT INTO `page_props` VALUES (1,'defaultsort','O\'Brien, Flann',NULL),(1,'page_image_free','Flann_O\'Brien.jpg',NULL),(1,'wikibase-shortdesc','Irish novelist (1911â€“1966)',NULL),(1,'wikibase_item','Q370880',NULL),(2,'disambiguation','',NULL),(2,'wikibase_item','Q216',NULL),(3,'wikibase-shortdesc','Path C:\\Temp\\ and a tab\there',NULL),(3,'wikibase_item','Q3',1.5e-05),(4,'wikibase-shortdesc','Looks like a row: ),(5,\'wikibase_item\',\'Q999\',NULL),( end',NULL),(5,'notoc','',NULL);
INSERT INTO `page_props` VALUES (8,'wikibase-shortdesc','bytes ÿþ not UTF-8 and NUL \0 and ^Z \Z',NULL),(8,'wikibase_item',_binary 'Q8',NULL),(9,'page_image_free',0x4D657263757265,NULL);
INSERT INTO `page_props` VALUES (6,'wikibase-shortdesc','two
lines; and a quote '' doubled',NULL),
(6,'wikibase_item','Q6',-2.5);INSERT INTO `page_props` VALUES (7,'kartographer_frames','1',1);
/*!40000 ALTER TABLE `page_props` ENABLE KEYS */;

-- Dump completed on 2026-11-02  1:02:03
